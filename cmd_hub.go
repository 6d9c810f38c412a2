package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"golang.org/x/sync/errgroup"

	"teleconsole/booking"
	"teleconsole/hub"
	"teleconsole/uhiclient"
)

// hubConfig is everything teleconsole hub's flags set.
type hubConfig struct {
	listen, providerURI, providerID string
	verify, logPath, doctors        string
	privateKey, subscriberID, keyID string
	tls                             tlsFlags
	natsURL, natsListen, natsData   string
	natsReplicas                    int
	nats                            natsFlags
	schedules, gateway, helpline    string
}

// hubFlags registers teleconsole hub's flags on fs.
func hubFlags(fs *flag.FlagSet) *hubConfig {
	c := &hubConfig{}
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8900", "`HOST:PORT` to serve POST /api/v1/on_message on")
	fs.StringVar(&c.providerURI, "provider-uri", "", "the hospital's provider_uri as patients reach it (default http(s)://LISTEN/api/v1)")
	fs.StringVar(&c.providerID, "provider-id", "teleconsole", "the hospital's provider_id (subscriber id)")
	fs.StringVar(&c.verify, "verify", "off", "request signatures: off, keyring:PATH or registry:URL")
	fs.StringVar(&c.logPath, "log", "", "log `FILE` (default: stderr)")
	fs.StringVar(&c.doctors, "doctors", "", "`FILE` of the hospital's doctors, one a line: HPR-ADDRESS [NATS-USER PASSWORD] (required)")
	fs.StringVar(&c.privateKey, "private-key", "", "base64 PKCS#8 Ed25519 key of the hospital, to sign outbound requests with")
	fs.StringVar(&c.subscriberID, "subscriber-id", "", "subscriber id in the signing keyId (default: --provider-id)")
	fs.StringVar(&c.keyID, "key-id", "", "unique key id in the signing keyId (needed with --private-key)")
	c.tls.register(fs, "on_message")
	fs.StringVar(&c.natsURL, "nats", "embedded", "NATS server `URL`s (comma-separated), or \"embedded\" for a NATS server in this process")
	fs.StringVar(&c.natsListen, "nats-listen", "127.0.0.1:4222", "`HOST:PORT` the embedded NATS server takes consoles on")
	fs.StringVar(&c.natsData, "nats-data", "", "`DIR` the embedded NATS server keeps its stream in (default: a directory made for the run)")
	fs.IntVar(&c.natsReplicas, "nats-replicas", 1, "how many NATS servers hold the stream (3 on a three-node cluster)")
	c.nats.register(fs)
	fs.StringVar(&c.schedules, "schedules", "", "`DIR` of the doctors' schedules, every *.json in it one (as teleconsole schedule --example prints): the hub takes bookings for those doctors (needs --private-key)")
	fs.StringVar(&c.gateway, "gateway", "", "the UHI gateway's base `URI` (e.g. https://gw.example/api/v1/uhi): broadcast searches are answered there and audit copies of callbacks sent there; its key comes from --verify")
	fs.StringVar(&c.helpline, "helpline", "", "the hospital's phone, sent to patients in on_confirm")
	return c
}

// loadSchedules reads every *.json in dir as a doctor's schedule, by the
// doctor's HPR address; a file with a fault, or two of one doctor, is
// refused, naming the file.
func loadSchedules(dir string) (map[string]*booking.Plan, error) {
	if dir == "" {
		return nil, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("--schedules %s: %w", dir, err)
	}
	if len(files) == 0 {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("--schedules: %w", err)
		}
		return nil, fmt.Errorf("--schedules %s: no *.json schedule in it (teleconsole schedule --example prints one)", dir)
	}
	plans, from := map[string]*booking.Plan{}, map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("schedule %s: %w", f, err)
		}
		p, err := booking.ParseSchedule(b)
		if err != nil {
			return nil, fmt.Errorf("schedule %s: %w", f, err)
		}
		hpr := strings.ToLower(p.Doctor().HPR)
		if other, dup := from[hpr]; dup {
			return nil, fmt.Errorf("schedules %s and %s are both %s's", other, f, hpr)
		}
		plans[hpr], from[hpr] = p, f
	}
	return plans, nil
}

// runHub runs the hospital's endpoint until a signal arrives.
func runHub(ctx context.Context, args []string, _, stderr io.Writer) int {
	fs := newFlagSet("teleconsole hub", "usage: teleconsole hub [flags]\n\n"+
		"The hospital's one UHI endpoint: patients post to it, each doctor's console\n"+
		"connects out to its NATS server (teleconsole --hub URL) and gets its own\n"+
		"patients' messages; the hub signs what the consoles send with the hospital's key.", stderr)
	cfg := hubFlags(fs)
	if code, done := parseCommand(fs, args, osLookup); done {
		return code
	}
	if err := serveHub(ctx, cfg, stderr, nil); err != nil {
		return fail(stderr, err)
	}
	return 0
}

// hubReady tells the demo where a hub serves, once it does.
type hubReady func(providerURI, natsURL string)

// serveHub runs the hub cfg describes until ctx ends. An error that stops
// it once its log is open is written to the log as well as returned (and
// so printed on stderr): an operator reads one or the other.
func serveHub(ctx context.Context, cfg *hubConfig, stderr io.Writer, ready hubReady) (err error) {
	if cfg.doctors == "" {
		return errors.New("--doctors is required: the hospital's doctors")
	}
	doctors, err := hub.LoadDoctors(cfg.doctors)
	if err != nil {
		return err
	}
	var logOut io.Writer = stderr
	if cfg.logPath != "" {
		f, err := openLog(cfg.logPath)
		if err != nil {
			return err
		}
		defer f.Close()
		logOut = f
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	defer func() {
		if err != nil {
			log.Error("hub stopped", "err", err)
		} else {
			log.Info("hub stopped")
		}
	}()
	tlsConf, err := cfg.tls.config()
	if err != nil {
		return err
	}
	schedules, err := loadSchedules(cfg.schedules)
	if err != nil {
		return err
	}
	keys, err := makeKeySource(cfg.verify, nil, log)
	if err != nil {
		return err
	}
	verifier, gatewayVerifier := uhiclient.NoVerification(), uhiclient.Verifier(nil)
	if keys != nil {
		if verifier, err = uhiclient.NewSignatureVerifier(keys); err != nil {
			return err
		}
		if gatewayVerifier, err = uhiclient.NewSignatureVerifier(keys,
			uhiclient.WithSignatureHeader(uhiclient.GatewayAuthorizationHeader)); err != nil {
			return err
		}
	}
	signer, err := (&peerFlags{privateKey: cfg.privateKey, subscriberID: cfg.subscriberID, keyID: cfg.keyID}).signer(cfg.providerID)
	if err != nil {
		return err
	}
	clientOpts := []uhiclient.ClientOption{uhiclient.WithClientLogger(log.With("part", "client"))}
	if signer != nil {
		clientOpts = append(clientOpts, uhiclient.WithSigner(signer))
	}
	client, err := uhiclient.NewClient(clientOpts...)
	if err != nil {
		return err
	}

	// NATS: the operator's cluster, or a server of our own.
	natsURL := cfg.natsURL
	connectURL := natsURL // the hub's own; in-process, it names no scheme of TLS
	natsOpts, err := cfg.nats.options()
	if err != nil {
		return err
	}
	if natsURL == "embedded" {
		ns, url, opts, cleanup, err := startEmbedded(cfg, doctors, tlsConf, log)
		if err != nil {
			return err
		}
		defer cleanup()
		defer ns.Shutdown()
		natsURL, connectURL, natsOpts = url, nats.DefaultURL, opts
	}
	// The connection waits for servers not reachable yet: a replica may
	// start before its NATS cluster, as after a reboot.
	nc, err := hub.Connect(connectURL, "teleconsole hub", natsOpts...)
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", natsURL, err)
	}
	defer nc.Close()

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	defer ln.Close()
	if cfg.providerURI == "" {
		scheme := "http"
		if tlsConf != nil {
			scheme = "https"
		}
		cfg.providerURI = scheme + "://" + ln.Addr().String() + "/api/v1"
	}
	// The endpoint serves from here: until the hub is set up (its stream,
	// bucket and consumers made or bound, which waits for NATS and for
	// JetStream's leaders), patients are answered 503 with a Retry-After.
	hcfg := hub.Config{Doctors: doctors, Conn: nc, Replicas: cfg.natsReplicas, Verifier: verifier,
		Client: client, ProviderID: cfg.providerID, ProviderURI: cfg.providerURI, Log: log.With("part", "hub"),
		Schedules: schedules, Gateway: cfg.gateway, GatewayVerifier: gatewayVerifier, Helpline: cfg.helpline}
	if signer != nil {
		hcfg.PINKey = pinKey(signer) // the same on every replica: they share the hospital's key
	}
	h, err := hub.Start(hcfg)
	if err != nil {
		return err
	}
	defer h.Close()
	srv := h.HTTPServer("")
	srv.TLSConfig = tlsConf
	log.Info("hub starting", "endpoint", ln.Addr().String(), "provider_uri", cfg.providerURI, "nats", natsURL,
		"doctors", len(doctors), "schedules", len(schedules), "verify", h.Verification(), "tls", tlsConf != nil)
	gctx, stop := context.WithCancel(ctx)
	defer stop()
	g, gctx := errgroup.WithContext(gctx)
	g.Go(func() error {
		var err error
		if tlsConf != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("the on_message endpoint stopped: %w", err)
	})
	g.Go(func() error {
		// Set up, or given up for a reason no wait mends (a stream of
		// the same name made otherwise): that stops the hub.
		if err := h.Wait(gctx); err != nil {
			if gctx.Err() != nil {
				return nil
			}
			return err
		}
		log.Info("hub serving", "endpoint", ln.Addr().String(), "nats", natsURL)
		if ready != nil {
			ready(cfg.providerURI, natsURL)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	return g.Wait()
}

// startEmbedded starts the hub's own NATS server with a user for each
// doctor and one for the hub, whose password is made for the run unless
// --nats-user and --nats-password give it. Without --nats-data its stream
// lives in a directory made for the run, removed by cleanup. With tlsConf
// (--tls-cert) the consoles must connect over TLS; the hub itself connects
// in-process.
func startEmbedded(cfg *hubConfig, doctors []hub.Doctor, tlsConf *tls.Config, log *slog.Logger) (ns *server.Server, url string, opts []nats.Option, cleanup func(), err error) {
	user, pass := cfg.nats.user, cfg.nats.password
	if user == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return nil, "", nil, nil, err
		}
		user, pass = "hub", hex.EncodeToString(b)
	}
	dir, cleanup := cfg.natsData, func() {}
	if dir == "" {
		d, err := os.MkdirTemp("", "teleconsole-hub-")
		if err != nil {
			return nil, "", nil, nil, err
		}
		dir, cleanup = d, func() { _ = os.RemoveAll(d) }
	}
	ns, err = hub.StartServer(hub.ServerConfig{Listen: cfg.natsListen, DataDir: dir, Doctors: doctors,
		HubUser: user, HubPassword: pass, TLS: tlsConf})
	if err != nil {
		cleanup()
		return nil, "", nil, nil, err
	}
	url = ns.ClientURL()
	log.Info("embedded NATS server", "url", url, "data", dir, "tls", tlsConf != nil)
	return ns, url, []nats.Option{nats.UserInfo(user, pass), nats.InProcessServer(ns)}, cleanup, nil
}

// hubLink is the console's link to the hub that --hub names, logged in as
// the doctor.
func hubLink(cfg *consoleConfig, log *slog.Logger) (*hub.Link, error) {
	opts, err := cfg.nats.options()
	if err != nil {
		return nil, err
	}
	return hub.Dial(hub.LinkConfig{URL: strings.TrimSpace(cfg.hub), Doctor: cfg.hpr, Options: opts, User: cfg.nats.who(),
		Log: log.With("part", "hub")})
}
