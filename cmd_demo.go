package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/sys/unix"

	"teleconsole/call"
	"teleconsole/hub"
	"teleconsole/record"
	"teleconsole/simpatient"
	"teleconsole/uhiclient"
)

// runDemo runs the console on loopback with three simulated patients,
// synthetic media and signatures on with keys made for the run, so a
// newcomer can call each of them within a minute of cloning.
func runDemo(ctx context.Context, args []string, _, stderr io.Writer) int {
	fs := newFlagSet("teleconsole demo", "usage: teleconsole demo [flags]\n\n"+
		"The console on loopback with simulated patients, walk-ins and booked ones, synthetic\n"+
		"media and signatures checked with keys made for the run. No environment variable applies.", stderr)
	// The demo's own defaults: loopback, a free port, no outside servers.
	d := consoleDefaults()
	d.listen, d.hpr, d.name = "127.0.0.1:0", "ganeshborse@hpr.ndhm", "Dr Ganesh Borse"
	d.iceServers, d.media = "", "synthetic"
	d.demo = true
	// The demo records, so that history, notes, chat and pictures can be
	// tried, in a data directory of its own (demoDataDir) unless given one.
	cfg := consoleFlags(fs, d)
	if code, done := parseCommand(fs, args, noEnvironment); done {
		return code
	}

	doctorKey, patientKey, keyring, err := demoKeys(cfg.providerID)
	if err != nil {
		return fail(stderr, err)
	}
	cfg.keyring, cfg.signer = keyring, doctorKey
	cfg.loopback = true
	if !cfg.demoHub {
		// The day: bookings over UHI beside the walk-ins (docs/booking.md).
		if cfg.schedule, err = demoSchedule(cfg.hpr, cfg.name); err != nil {
			return fail(stderr, err)
		}
		cfg.seed = seedDemoDay
	}

	var ln net.Listener
	if cfg.demoHub {
		// The hub takes the doctor's key (it signs for the hospital) and
		// checks the patients' signatures; the console holds neither.
		stop, err := startDemoHub(cfg, doctorKey, keyring)
		if err != nil {
			return fail(stderr, err)
		}
		defer stop()
		cfg.keyring, cfg.signer = nil, nil
	} else if ln, err = net.Listen("tcp", cfg.listen); err != nil {
		return fail(stderr, fmt.Errorf("listen on %s: %w", cfg.listen, err))
	}
	var demoDir string
	switch {
	case cfg.dataDir == "" && cfg.record == "on":
		dir, release, err := demoDataDir(os.Getenv)
		if err != nil {
			return fail(stderr, err)
		}
		defer release()
		cfg.dataDir, demoDir = dir, dir
		cfg.kept = "demo record in " + homeShort(dir, os.Getenv("HOME")) + ", emptied at the next demo"
	case cfg.dataDir == "":
		// A chat key of the run's own, as the signing keys: with the
		// record off the demo leaves nothing behind.
		pair, err := uhiclient.NewChatKeyPair(rand.Reader)
		if err != nil {
			return fail(stderr, err)
		}
		cfg.chatKeyPair = &pair
	}
	// Three patients arrive in the waiting room a few seconds apart.
	demoPatients := [...]struct {
		name, gender, abha string
		after              time.Duration
		photo              color.RGBA // the background of their photo; none when zero
	}{
		{"Manish Pravin Kahane", "M", "manishkahane1992@sbx", 2 * time.Second, color.RGBA{70, 110, 170, 255}},
		{"Asha Devi Rao", "F", "asharao1988@sbx", 6 * time.Second, color.RGBA{150, 80, 120, 255}},
		{"Imran Sheikh", "M", "imransheikh2001@sbx", 10 * time.Second, color.RGBA{}},
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
		if cfg.schedule != nil {
			startBookers(ctx, cfg.hpr, providerURI, engine, client, log)
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
					Name: d.name, Gender: d.gender, Address: d.abha, Doctor: cfg.hpr, Image: demoPhoto(d.photo),
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
	code := serveConsole(ctx, cfg, ln, stderr, startPatients)
	if demoDir != "" {
		fmt.Fprintf(stderr, "The demo's record is in %s until the next demo: teleconsole history --data-dir %s\n", demoDir, demoDir)
	}
	return code
}

// demoDataDir empties the demo's own data directory and returns it: in the
// user's cache ($XDG_CACHE_HOME/teleconsole/demo, else
// ~/.cache/teleconsole/demo), the record of the last demo's consultations,
// chat, notes, attachments and snapshots goes. A demo holds a lock on it
// until release, so that a second one started meanwhile does not empty it
// under the first: it is refused, and says what to do instead.
func demoDataDir(getenv func(string) string) (dir string, release func(), err error) {
	cache := getenv("XDG_CACHE_HOME")
	if !filepath.IsAbs(cache) {
		home := getenv("HOME")
		if home == "" {
			return "", nil, errors.New("no cache directory for the demo's record: set XDG_CACHE_HOME or HOME, or give --data-dir or --record off")
		}
		cache = filepath.Join(home, ".cache")
	}
	base := filepath.Join(cache, record.DirName)
	dir = filepath.Join(base, "demo")
	if err := record.MkdirPrivate(base); err != nil {
		return "", nil, err
	}
	lock, err := os.OpenFile(filepath.Join(base, "demo.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", nil, fmt.Errorf("the demo's lock: %w", err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		return "", nil, fmt.Errorf("another demo is running with its record in %s: give this one --data-dir DIR or --record off", dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		lock.Close()
		return "", nil, fmt.Errorf("emptying the last demo's record: %w", err)
	}
	if err := record.MkdirPrivate(dir); err != nil {
		lock.Close()
		return "", nil, err
	}
	return dir, func() { lock.Close() }, nil
}

// homeShort writes path with the home directory as ~, as the doctor would
// type it.
func homeShort(path, home string) string {
	if home != "" && home != "/" {
		if rest, ok := strings.CutPrefix(path, filepath.Clean(home)+string(filepath.Separator)); ok {
			return filepath.Join("~", rest)
		}
	}
	return path
}

// demoPhoto is a simulated patient's photo for their READY, as the
// reference app sends one: a JPEG as base64, of a head and shoulders on bg
// (none when bg is zero: the console says "no photo").
func demoPhoto(bg color.RGBA) string {
	if bg.A == 0 {
		return ""
	}
	const w, h = 480, 600
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	skin, shirt := color.RGBA{214, 170, 130, 255}, color.RGBA{235, 235, 225, 255}
	for y := range h {
		for x := range w {
			c := bg
			dx, dy := float64(x-w/2)/110, float64(y-240)/140
			switch {
			case dx*dx+dy*dy < 1:
				c = skin
			case y > 430 && (x-w/2)*(x-w/2) < (y-330)*(y-330)*2:
				c = shirt
			}
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 90})
	return base64.StdEncoding.EncodeToString(b.Bytes())
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

// startDemoHub runs a hub on loopback with a NATS server of its own, for
// the demo's doctor alone, signing with doctorKey and checking the
// patients' requests against keyring, and points cfg at it: the console
// connects to its NATS server, the patients post to its endpoint. stop
// ends it all.
func startDemoHub(cfg *consoleConfig, doctorKey *uhiclient.Signer, keyring *uhiclient.Keyring) (stop func(), err error) {
	logFile, err := openLog(cfg.logPath)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo})).With("part", "demo hub")
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	stops = append(stops, func() { _ = logFile.Close() })
	fail := func(err error) (func(), error) { stop(); return nil, err }

	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return fail(err)
	}
	pass := hex.EncodeToString(secret)
	dir, err := os.MkdirTemp("", "teleconsole-demo-hub-")
	if err != nil {
		return fail(err)
	}
	stops = append(stops, func() { _ = os.RemoveAll(dir) })
	doctors := []hub.Doctor{{Address: cfg.hpr, User: "doctor", Password: pass}}
	ns, err := hub.StartServer(hub.ServerConfig{Listen: "127.0.0.1:0", DataDir: dir, Doctors: doctors,
		HubUser: "hub", HubPassword: pass})
	if err != nil {
		return fail(err)
	}
	stops = append(stops, ns.Shutdown)
	nc, err := nats.Connect(ns.ClientURL(), nats.UserInfo("hub", pass))
	if err != nil {
		return fail(err)
	}
	stops = append(stops, nc.Close)
	verifier, err := uhiclient.NewSignatureVerifier(keyring)
	if err != nil {
		return fail(err)
	}
	client, err := uhiclient.NewClient(uhiclient.WithSigner(doctorKey), uhiclient.WithClientLogger(log))
	if err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	uri := "http://" + ln.Addr().String() + "/api/v1"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	h, err := hub.New(ctx, hub.Config{Doctors: doctors, Conn: nc, Verifier: verifier, Client: client,
		ProviderID: cfg.providerID, ProviderURI: uri, Log: log})
	cancel()
	if err != nil {
		_ = ln.Close()
		return fail(err)
	}
	stops = append(stops, h.Close)
	srv := h.HTTPServer("")
	go func() { _ = srv.Serve(ln) }()
	stops = append(stops, func() { _ = srv.Close() })
	cfg.hub, cfg.providerURI = ns.ClientURL(), uri
	cfg.nats = natsFlags{user: "doctor", password: pass}
	log.Info("demo hub serving", "endpoint", uri, "nats", ns.ClientURL())
	return stop, nil
}
