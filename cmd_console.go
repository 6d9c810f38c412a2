package main

import (
	"context"
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

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"golang.org/x/sys/unix"

	"teleconsole/call"
	"teleconsole/uhiclient"
	"teleconsole/ui"
	"teleconsole/waitingroom"
)

// defaultICEServers is the reference apps' list (contract §4), as a flag value.
const defaultICEServers = "stun:stun.l.google.com:19302," +
	"turn:openrelay.metered.ca:80,turn:openrelay.metered.ca:443," +
	"turn:openrelay.metered.ca:443?transport=tcp"

// consoleConfig is everything the console's flags set.
type consoleConfig struct {
	listen, providerURI string
	hpr, name           string
	peerFlags
	media, verify        string
	logPath              string
	ring                 time.Duration
	providerID           string
	videoWidth, videoFPS int
	keyring              *uhiclient.Keyring // set by the demo instead of --verify
	signer               *uhiclient.Signer  // set by the demo instead of --private-key
}

// consoleFlags registers the console's flags on fs.
func consoleFlags(fs *flag.FlagSet) *consoleConfig {
	c := &consoleConfig{}
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8901", "`HOST:PORT` to serve POST /api/v1/on_message on")
	fs.StringVar(&c.providerURI, "provider-uri", "", "the console's provider_uri as patients reach it (default http://LISTEN/api/v1)")
	fs.StringVar(&c.providerID, "provider-id", "teleconsole", "the console's provider_id (subscriber id)")
	fs.StringVar(&c.hpr, "hpr", "", "the doctor's HPR `ADDRESS`, e.g. ganeshborse@hpr.ndhm (required)")
	fs.StringVar(&c.name, "name", "", "the doctor's name as patients see it")
	fs.StringVar(&c.media, "media", "auto", "where the doctor's picture and sound come from: auto, devices or synthetic")
	fs.StringVar(&c.verify, "verify", "off", "request signatures: off, keyring:PATH or registry:URL")
	fs.StringVar(&c.logPath, "log", "", "log `FILE` (default: teleconsole.log in the user's state directory); never the terminal")
	fs.DurationVar(&c.ring, "ring", 45*time.Second, "how long a call rings before it ends as \"no answer\"")
	c.peerFlags.register(fs, "", " (default: --provider-id)")
	return c
}

// runConsole runs the doctor's console until the doctor quits or a signal
// arrives.
func runConsole(ctx context.Context, args []string, _, stderr io.Writer) int {
	fs := flag.NewFlagSet("teleconsole", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := consoleFlags(fs)
	if err := parseFlags(fs, args, osLookup); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fail(stderr, fmt.Errorf("listen on %s: %w", cfg.listen, err))
	}
	return serveConsole(ctx, cfg, ln, stderr, nil)
}

// serveConsole assembles the console on ln and runs its TUI. beforeUI, when
// set, starts after the endpoint is up (the demo starts its patients there).
func serveConsole(ctx context.Context, cfg *consoleConfig, ln net.Listener, stderr io.Writer, beforeUI func(context.Context, string, *slog.Logger)) int {
	defer ln.Close()
	if cfg.hpr == "" {
		return fail(stderr, errors.New("--hpr is required: the doctor's HPR address"))
	}
	if cfg.providerURI == "" {
		cfg.providerURI = "http://" + ln.Addr().String() + "/api/v1"
	}
	logFile, err := openLog(cfg.logPath)
	if err != nil {
		return fail(stderr, err)
	}
	defer logFile.Close()
	log := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// The TUI owns the terminal: C libraries (ALSA, libvpx) and the Go
	// runtime write to file descriptor 2 on their own, so point it at the log.
	if err := unix.Dup2(int(logFile.Fd()), 2); err != nil {
		log.Warn("stderr not redirected to the log", "err", err)
	}

	parts, err := assemble(cfg, log)
	if err != nil {
		return fail(stderr, err)
	}
	log.Info("console starting", "endpoint", ln.Addr().String(), "provider_uri", cfg.providerURI,
		"doctor", cfg.hpr, "verify", parts.server.Verification(), "media", parts.engine.MediaSource(),
		"timer_slack", currentTimerSlack())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hs := parts.server.HTTPServer("")
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	go parts.console.run(ctx, parts.server.Signals())
	go drainChats(ctx, parts.server.Chats(), log)
	if beforeUI != nil {
		beforeUI(ctx, cfg.providerURI, log)
	}

	info := ui.Info{
		Endpoint: ln.Addr().String(),
		Doctor:   cfg.hpr,
		Verify:   verifyWords(cfg),
		Media:    parts.engine.MediaSource(),
	}
	prog := tea.NewProgram(ui.New(parts.console, info),
		// main owns SIGINT and SIGTERM (ctx): Bubble Tea's own handler
		// would race it, and when it loses it blocks shutdown for good.
		tea.WithContext(ctx), tea.WithoutSignalHandler(),
		tea.WithColorProfile(terminalProfile()),
	)
	_, uiErr := prog.Run()
	if uiErr != nil && !errors.Is(uiErr, tea.ErrProgramKilled) && !errors.Is(uiErr, context.Canceled) {
		log.Error("terminal interface stopped", "err", uiErr)
	}

	// Clean shutdown: BYE to the patient in a call, endpoint closed, devices
	// released (the session releases them before Done).
	grace, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	parts.console.shutdown(grace)
	cancel()
	_ = hs.Shutdown(grace)
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("endpoint stopped", "err", err)
		return 1
	}
	log.Info("console stopped")
	return 0
}

// terminalProfile is the terminal's colour profile capped at 256 colours:
// truecolor video costs about seven times the bytes (stack.md) on links
// that cannot spare them.
func terminalProfile() colorprofile.Profile {
	p := colorprofile.Detect(os.Stdout, os.Environ())
	return min(p, colorprofile.ANSI256)
}

// verifyWords says in the status bar whether inbound requests are
// authenticated; the log has the full mode.
func verifyWords(cfg *consoleConfig) string {
	if cfg.verify == "off" && cfg.keyring == nil {
		return "sigs NOT verified"
	}
	return "sigs verified"
}

// drainChats keeps chat messages (content_type text or media) apart from the
// call machinery: logged, acknowledged by the server, not acted on.
func drainChats(ctx context.Context, chats <-chan *uhiclient.Inbound, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case in := <-chats:
			log.Info("chat message", "from", in.Sender, "content_type", in.Chat.ContentType)
		}
	}
}

// openLog opens the log file, by default in the user's state directory
// ($XDG_STATE_HOME/teleconsole, else ~/.local/state/teleconsole).
func openLog(path string) (*os.File, error) {
	if path == "" {
		dir := os.Getenv("XDG_STATE_HOME")
		if dir == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil, fmt.Errorf("no --log given and no home directory: %w", err)
			}
			dir = filepath.Join(home, ".local", "state")
		}
		path = filepath.Join(dir, "teleconsole", "teleconsole.log")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	return f, nil
}

// parts are the assembled pieces of a console.
type parts struct {
	engine  *call.Engine
	server  *uhiclient.Server
	console *console
}

// assemble builds the waiting room, the call engine, the wire (server with
// its verifier, client with its signer) and the console that joins them.
func assemble(cfg *consoleConfig, log *slog.Logger) (*parts, error) {
	room, err := waitingroom.New()
	if err != nil {
		return nil, err
	}
	media, err := call.ParseMedia(cfg.media)
	if err != nil {
		return nil, err
	}
	ice, err := cfg.ice()
	if err != nil {
		return nil, err
	}
	engineOpts := []call.Option{
		call.WithICEServers(ice), call.WithMedia(media),
		call.WithLogger(log.With("part", "call")), call.WithRingTimeout(cfg.ring),
		call.WithLoopback(cfg.loopback), call.WithLowBandwidth(cfg.lowBandwidth),
	}
	if cfg.videoWidth > 0 {
		engineOpts = append(engineOpts, call.WithVideo(cfg.videoWidth, cfg.videoWidth*3/4, cfg.videoFPS))
	}
	engine, err := call.New(engineOpts...)
	if err != nil {
		return nil, err
	}

	verifier, err := makeVerifier(cfg, log)
	if err != nil {
		return nil, err
	}
	server, err := uhiclient.NewServer(cfg.hpr,
		uhiclient.WithVerifier(verifier), uhiclient.WithServerLogger(log.With("part", "endpoint")))
	if err != nil {
		return nil, err
	}
	clientOpts := []uhiclient.ClientOption{uhiclient.WithClientLogger(log.With("part", "client"))}
	signer, err := makeSigner(cfg)
	if err != nil {
		return nil, err
	}
	if signer != nil {
		clientOpts = append(clientOpts, uhiclient.WithSigner(signer))
	}
	client, err := uhiclient.NewClient(clientOpts...)
	if err != nil {
		return nil, err
	}
	self := uhiclient.Identity{
		Self:        uhiclient.Person{Name: cfg.name, Cred: cfg.hpr},
		ProviderID:  cfg.providerID,
		ProviderURI: cfg.providerURI,
	}
	return &parts{engine: engine, server: server, console: newConsole(room, engine, client, self, log.With("part", "console"))}, nil
}

// makeVerifier turns --verify into the server's verifier.
func makeVerifier(cfg *consoleConfig, log *slog.Logger) (uhiclient.Verifier, error) {
	if cfg.keyring != nil {
		return uhiclient.NewSignatureVerifier(cfg.keyring)
	}
	mode, arg, _ := strings.Cut(cfg.verify, ":")
	switch mode {
	case "off", "":
		return uhiclient.NoVerification(), nil
	case "keyring":
		k, err := uhiclient.LoadKeyring(arg)
		if err != nil {
			return nil, err
		}
		return uhiclient.NewSignatureVerifier(k)
	case "registry":
		r, err := uhiclient.NewRegistry(arg, uhiclient.WithRegistryLogger(log.With("part", "registry")))
		if err != nil {
			return nil, err
		}
		return uhiclient.NewSignatureVerifier(r)
	default:
		return nil, fmt.Errorf("--verify %q: want off, keyring:PATH or registry:URL", cfg.verify)
	}
}

// makeSigner is the demo's signer, or the one the flags describe.
func makeSigner(cfg *consoleConfig) (*uhiclient.Signer, error) {
	if cfg.signer != nil {
		return cfg.signer, nil
	}
	return cfg.peerFlags.signer(cfg.providerID)
}
