package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"teleconsole/call"
	"teleconsole/simpatient"
	"teleconsole/uhiclient"
)

// runDemo runs the console on loopback with three simulated patients,
// synthetic media and signatures on with keys made for the run, so a
// newcomer can call each of them within a minute of cloning.
func runDemo(ctx context.Context, args []string, _, stderr io.Writer) int {
	fs := newFlagSet("teleconsole demo", "usage: teleconsole demo [flags]\n\n"+
		"The console on loopback with three simulated patients, synthetic media and\n"+
		"signatures checked with keys made for the run. No environment variable applies.", stderr)
	// The demo's own defaults: loopback, a free port, no outside servers.
	d := consoleDefaults()
	d.listen, d.hpr, d.name = "127.0.0.1:0", "ganeshborse@hpr.ndhm", "Dr Ganesh Borse"
	d.iceServers, d.media = "", "synthetic"
	// The demo's patients are not the doctor's: nothing of them is kept
	// unless asked (--record on).
	d.record = "off"
	cfg := consoleFlags(fs, d)
	if code, done := parseCommand(fs, args, noEnvironment); done {
		return code
	}

	doctorKey, patientKey, keyring, err := demoKeys(cfg.providerID)
	if err != nil {
		return fail(stderr, err)
	}
	cfg.keyring, cfg.signer = keyring, doctorKey
	if cfg.dataDir == "" {
		// A chat key of the run's own, as the signing keys: the demo
		// leaves nothing in the data directory unless given one.
		pair, err := uhiclient.NewChatKeyPair(rand.Reader)
		if err != nil {
			return fail(stderr, err)
		}
		cfg.chatKeyPair = &pair
	}
	cfg.loopback = true

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fail(stderr, fmt.Errorf("listen on %s: %w", cfg.listen, err))
	}
	// Three patients arrive in the waiting room a few seconds apart.
	demoPatients := [...]struct {
		name, gender, abha string
		after              time.Duration
	}{
		{"Manish Pravin Kahane", "M", "manishkahane1992@sbx", 2 * time.Second},
		{"Asha Devi Rao", "F", "asharao1988@sbx", 6 * time.Second},
		{"Imran Sheikh", "M", "imransheikh2001@sbx", 10 * time.Second},
	}
	startPatients := func(ctx context.Context, providerURI string, log *slog.Logger) {
		engine, err := call.New(call.WithMedia(call.MediaSynthetic), call.WithICEServers(nil),
			call.WithLoopback(true), call.WithPlayback(false), call.WithVideo(320, 240, 15),
			call.WithLogger(log.With("part", "patients")))
		if err != nil {
			log.Error("demo patients cannot start", "err", err)
			return
		}
		client, err := uhiclient.NewClient(uhiclient.WithSigner(patientKey), uhiclient.WithClientLogger(log.With("part", "patients")))
		if err != nil {
			log.Error("demo patients cannot start", "err", err)
			return
		}
		for _, d := range demoPatients {
			go func() {
				select {
				case <-ctx.Done():
					return
				case <-time.After(d.after):
				}
				plog := log.With("patient", d.abha)
				p, err := simpatient.New(simpatient.Config{
					Name: d.name, Gender: d.gender, Address: d.abha, Doctor: cfg.hpr,
					ConsoleURI: providerURI, ReadyInterval: 5 * time.Second,
					AnswerDelay: 500 * time.Millisecond, Rejoin: true,
				}, engine, client, simpatient.WithLogger(plog), simpatient.WithEvents(func(e simpatient.Event) {
					plog.Info("simulated patient: " + e.Text)
				}))
				if err != nil {
					plog.Error("demo patient cannot start", "err", err)
					return
				}
				if err := p.Run(ctx); err != nil {
					plog.Error("demo patient stopped", "err", err)
				}
			}()
		}
	}
	return serveConsole(ctx, cfg, ln, stderr, startPatients)
}

// demoKeys makes a key for the doctor and one for the patients, and a
// keyring the console verifies the patients' requests with.
func demoKeys(providerID string) (doctor, patients *uhiclient.Signer, ring *uhiclient.Keyring, err error) {
	_, dpriv, err := uhiclient.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	ppub, ppriv, err := uhiclient.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	if doctor, err = uhiclient.NewSigner(dpriv, providerID, "demo-doctor"); err != nil {
		return nil, nil, nil, err
	}
	if patients, err = uhiclient.NewSigner(ppriv, "teleconsole-patient", "demo-patients"); err != nil {
		return nil, nil, nil, err
	}
	pub, err := uhiclient.EncodePublicKey(ppub)
	if err != nil {
		return nil, nil, nil, err
	}
	ring, err = uhiclient.NewKeyring(map[string]string{patients.KeyID(): pub})
	return doctor, patients, ring, err
}
