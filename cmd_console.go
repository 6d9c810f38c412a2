package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"golang.org/x/sys/unix"

	"teleconsole/app"
	"teleconsole/booking"
	"teleconsole/call"
	"teleconsole/hub"
	"teleconsole/record"
	"teleconsole/rx"
	"teleconsole/uhiclient"
	"teleconsole/ui"
)

// consoleConfig is everything the console's flags set.
type consoleConfig struct {
	listen, providerURI string
	hpr, name           string
	peerFlags
	media, verify string
	audioProc     string
	camera        string // devices by id or name; "" for the defaults
	microphone    string
	speaker       string
	video         ui.Graphics
	videoBudget   int // KB a second over SSH
	theme         ui.Theme
	logPath       string
	dataFlags
	record   string // on or off
	chatKeys string // the patients' chat keys file
	// fetchAllow are the networks inside that content_urls may be
	// fetched from (--fetch-allow).
	fetchAllow string
	// recordErrors receives the record's failed writes, for the screen.
	recordErrors chan error
	ring         time.Duration
	providerID   string
	hub          string // the hub's NATS URL, or "" for the console's own endpoint
	demoHub      bool   // the demo's --hub: through a hub of its own
	demo         bool   // the flags are the demo's
	nats         natsFlags
	tls          tlsFlags
	keyring      *uhiclient.Keyring     // set by the demo instead of --verify
	signer       *uhiclient.Signer      // set by the demo instead of --private-key
	chatKeyPair  *uhiclient.ChatKeyPair // set by the demo instead of the data directory's
	gateway      string                 // the UHI gateway's base URI, or ""
	helpline     string                 // the clinic's phone, for on_confirm
	kept         string                 // where the record is, when not the usual place: said on screen (the demo's)
	// desk is the booking desk app made, when the doctor has a schedule.
	desk *booking.Desk
	// schedule is the demo's schedule, used instead of the data
	// directory's; seed, when set, fills the demo's day before it opens.
	schedule *booking.Plan
	seed     func(booking.Store, *booking.Plan)
}

// consoleDefaults are the console's flags' defaults; the demo starts from
// them and changes its own.
func consoleDefaults() consoleConfig {
	return consoleConfig{
		listen:      "127.0.0.1:8901",
		providerID:  "teleconsole",
		media:       "auto",
		audioProc:   "on",
		verify:      "off",
		ring:        45 * time.Second,
		videoBudget: 200,
		record:      "on",
		peerFlags:   defaultPeerFlags(),
	}
}

// consoleFlags registers the console's flags on fs, each defaulting to its
// value in d, so --help shows the defaults the command runs with.
func consoleFlags(fs *flag.FlagSet, d consoleConfig) *consoleConfig {
	c := &consoleConfig{}
	fs.StringVar(&c.listen, "listen", d.listen, "`HOST:PORT` to serve POST /api/v1/on_message on")
	fs.StringVar(&c.providerURI, "provider-uri", d.providerURI, "the console's provider_uri as patients reach it (default http://LISTEN/api/v1)")
	fs.StringVar(&c.providerID, "provider-id", d.providerID, "the console's provider_id (subscriber id)")
	hprHelp := "the doctor's HPR `ADDRESS`, e.g. ganeshborse@hpr.ndhm"
	if d.hpr == "" {
		hprHelp += " (required)"
	}
	fs.StringVar(&c.hpr, "hpr", d.hpr, hprHelp)
	fs.StringVar(&c.name, "name", d.name, "the doctor's name as patients see it")
	fs.StringVar(&c.media, "media", d.media, "where the doctor's picture and sound come from: auto, devices or synthetic")
	fs.StringVar(&c.camera, "camera", d.camera, "the camera's `ID` or name, as teleconsole devices lists them (default: the system's)")
	fs.StringVar(&c.microphone, "microphone", d.microphone, "the microphone's `ID` or name, as teleconsole devices lists them (default: the system's)")
	fs.StringVar(&c.speaker, "speaker", d.speaker, "the speaker's `ID` or name, as teleconsole devices lists them (default: the system's)")
	fs.StringVar(&c.audioProc, "audio-processing", d.audioProc, "what runs on the microphone: on, off, or some of aec,ns,agc (echo cancellation, noise suppression, gain control)")
	fs.StringVar(&c.verify, "verify", d.verify, "request signatures: off, keyring:PATH or registry:URL")
	c.video = d.video
	fs.Var(graphicsFlag{&c.video}, "video", "how the patient's picture is drawn, `MODE`: auto (ask the terminal), kitty, iterm2, sixel, blocks or off")
	c.theme = d.theme
	fs.Var(themeFlag{&c.theme}, "theme", "the colours, for the terminal's background: auto (ask the terminal), light or dark; NO_COLOR turns colour off")
	fs.IntVar(&c.videoBudget, "video-budget", d.videoBudget, "`KB` a second the patient's picture may take on a terminal reached over SSH (0: no limit)")
	fs.StringVar(&c.logPath, "log", d.logPath, "log `FILE` (default: teleconsole.log in the user's state directory); never the terminal")
	fs.DurationVar(&c.ring, "ring", d.ring, "how long a call rings before it ends as \"no answer\"")
	c.dataFlags.register(fs)
	fs.StringVar(&c.record, "record", d.record, "keep a record of every consultation in the data directory: on or off")
	fs.StringVar(&c.chatKeys, "chat-keys", d.chatKeys, "the patients' chat public keys: a JSON `FILE` of ABHA address to key")
	fs.StringVar(&c.fetchAllow, "fetch-allow", d.fetchAllow, "`CIDR[,CIDR]` inside the network that a chat attachment's content_url may be fetched from, for a media server on the clinic's LAN (default: none; loopback, private, link-local and multicast addresses are refused)")
	c.peerFlags.register(fs, d.peerFlags, " (default: --provider-id)")
	fs.StringVar(&c.gateway, "gateway", d.gateway, "the UHI gateway's base `URI` (e.g. https://gw.example/api/v1/uhi): broadcast searches are answered there and audit copies of callbacks sent there; its key comes from --verify")
	fs.StringVar(&c.helpline, "helpline", d.helpline, "the clinic's phone `NUMBER`, sent to patients who book")
	if d.demo {
		fs.BoolVar(&c.demoHub, "hub", false, "through a hub on this machine, with a NATS server of its own: the patients post to the hub, the console connects to it")
		return c
	}
	fs.StringVar(&c.hub, "hub", d.hub, "the hospital hub's NATS `URL`: the console opens no port and meets patients through the hub (--listen, --verify and --private-key are then the hub's)")
	c.nats.register(fs)
	c.tls.register(fs, "on_message")
	return c
}

// runConsole runs the doctor's console until the doctor quits or a signal
// arrives.
func runConsole(ctx context.Context, args []string, _, stderr io.Writer) int {
	fs := newFlagSet("teleconsole", commandsUsage(), stderr)
	cfg := consoleFlags(fs, consoleDefaults())
	if code, done := parseCommand(fs, args, osLookup); done {
		return code
	}
	if cfg.hub != "" {
		return serveConsole(ctx, cfg, nil, stderr, nil)
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fail(stderr, fmt.Errorf("listen on %s: %w", cfg.listen, err))
	}
	return serveConsole(ctx, cfg, ln, stderr, nil)
}

// serveConsole assembles the console on ln, or on its link to the hub when
// cfg.hub is set (ln is then nil), and runs its TUI. beforeUI, when set,
// starts after the endpoint is up (the demo starts its patients there).
// Errors before the TUI starts, and the reason it stopped if it did not stop
// by the doctor's choice, are printed on stderr; everything else goes to
// the log.
func serveConsole(ctx context.Context, cfg *consoleConfig, ln net.Listener, stderr io.Writer, beforeUI func(context.Context, string, *slog.Logger)) int {
	if ln != nil {
		defer ln.Close()
	}
	if cfg.hpr == "" {
		return fail(stderr, errors.New("--hpr is required: the doctor's HPR address"))
	}
	tlsConf, err := cfg.tls.config()
	if err != nil {
		return fail(stderr, err)
	}
	if ln != nil && tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	endpoint := hubWords(cfg.hub)
	if ln != nil {
		endpoint = ln.Addr().String()
		if cfg.providerURI == "" {
			scheme := "http"
			if tlsConf != nil {
				scheme = "https"
			}
			cfg.providerURI = scheme + "://" + endpoint + "/api/v1"
		}
	}
	logFile, err := openLog(cfg.logPath)
	if err != nil {
		return fail(stderr, err)
	}
	defer logFile.Close()
	log := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg.recordErrors = make(chan error, 16)
	appCfg, err := cfg.app(log)
	if err != nil {
		return failLogged(log, stderr, err)
	}
	if appCfg.Record != nil {
		defer appCfg.Record.Close()
	}
	var link *hub.Link
	if cfg.hub != "" {
		if link, err = hubLink(cfg, log); err != nil {
			return failLogged(log, stderr, err)
		}
		// After the console's Close: its BYE and last ACKs go through it.
		defer link.Disconnect()
		appCfg.Transport = link
	}
	console, err := app.New(appCfg)
	if err != nil {
		return failLogged(log, stderr, err)
	}
	// From here the TUI owns the terminal: C libraries (ALSA, libvpx) and
	// the Go runtime write to file descriptor 2 on their own, so it points
	// at the log, and what the doctor must still read after the TUI goes
	// is written to the terminal's own stderr, kept aside.
	terminal, restore := redirectStderr(logFile, stderr, log)
	defer restore()
	log.Info("console starting", "endpoint", endpoint, "hub", cfg.hub, "provider_uri", cfg.providerURI,
		"doctor", cfg.hpr, "verify", console.Verification(), "media", console.MediaSource(), "audio_processing", console.AudioProcessing(),
		"timer_slack", currentTimerSlack())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := console.Start(ln); err != nil {
		_ = console.Close(context.Background())
		return failLogged(log, terminal, err)
	}
	endpointErr := make(chan error, 1)
	go func() {
		// The endpoint stopping on its own ends the console: without it no
		// patient reaches the doctor.
		if err, ok := <-console.Stopped(); ok {
			endpointErr <- err
			cancel()
		}
	}()
	if cfg.desk != nil && cfg.schedule == nil {
		if dir, err := cfg.dir(); err == nil {
			go watchSchedule(ctx, dir, cfg.desk, log.With("part", "schedule"))
		}
	}
	if beforeUI != nil {
		beforeUI(ctx, cfg.providerURI, log)
	}

	info := ui.Info{
		Endpoint: endpoint,
		Doctor:   cfg.hpr,
		Verify:   verifyWords(cfg),
		Media:    console.MediaSource(),
		Record:   recordWords(cfg),
		Kept:     cfg.kept,
		Audio:    console.AudioProcessing(),
	}
	if link != nil {
		info.Link = link.Status
	}
	out := &termOut{File: os.Stdout}
	uiOpts := []ui.Option{
		ui.WithChat(console), ui.WithHistory(console), ui.WithPhotos(console), ui.WithPrescriber(console), ui.WithAlerts(cfg.recordErrors),
		ui.WithGraphics(cfg.video), ui.WithTerminal(terminalHints(out, os.Getenv)),
		ui.WithVideoBudget(cfg.videoBudget * 1000), ui.WithSnapshotDir(cfg.snapshotDir()),
		ui.WithTheme(cfg.theme), ui.WithNoColor(os.Getenv("NO_COLOR") != ""),
	}
	if console.TakesBookings() {
		uiOpts = append(uiOpts, ui.WithDay(console))
	}
	prog := tea.NewProgram(ui.New(console, info, uiOpts...),
		tea.WithOutput(out),
		// main owns SIGINT and SIGTERM (ctx): Bubble Tea's own handler
		// would race it, and when it loses it blocks shutdown for good.
		tea.WithContext(ctx), tea.WithoutSignalHandler(),
		tea.WithColorProfile(terminalProfile()),
	)
	_, uiErr := prog.Run()
	var stopped error
	if uiErr != nil && !errors.Is(uiErr, tea.ErrProgramKilled) && !errors.Is(uiErr, context.Canceled) {
		log.Error("terminal interface stopped", "err", uiErr)
		stopped = fmt.Errorf("terminal interface stopped: %w", uiErr)
	}

	// Clean shutdown: BYE to the patient in a call, endpoint closed, devices
	// released.
	if err := console.Close(context.Background()); err != nil {
		log.Warn("shutdown incomplete", "err", err)
	}
	select {
	case err := <-endpointErr:
		stopped = errors.Join(err, stopped)
	default:
	}
	if stopped != nil {
		return failLogged(log, terminal, stopped)
	}
	log.Info("console stopped")
	return 0
}

// hubWords names the hub's NATS servers for the status bar: the one
// server's address, or how many there are (the log has them all).
func hubWords(urls string) string {
	var servers []string
	for u := range strings.SplitSeq(urls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			servers = append(servers, u)
		}
	}
	if len(servers) == 1 {
		return "via hub " + strings.TrimPrefix(servers[0], "nats://")
	}
	return fmt.Sprintf("via hub, %d NATS servers", len(servers))
}

// failLogged is fail for an error once the log is open: the error is in
// the log as well, where the doctor's IT looks.
func failLogged(log *slog.Logger, w io.Writer, err error) int {
	log.Error("console stopped", "err", err)
	return fail(w, err)
}

// snapshotDir is where the s key saves the patient's picture: the data
// directory's snapshots folder, or none when it cannot be known.
func (c *consoleConfig) snapshotDir() string {
	d, err := c.dir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "snapshots")
}

// redirectStderr points file descriptor 2 at the log and returns a writer
// to the terminal's stderr as it was, and a function that puts it back.
// When stderr is not the process's own (tests), it is returned as it is.
func redirectStderr(logFile *os.File, stderr io.Writer, log *slog.Logger) (io.Writer, func()) {
	if stderr != os.Stderr {
		return stderr, func() {}
	}
	saved, err := unix.Dup(2)
	if err != nil {
		log.Warn("stderr not redirected to the log", "err", err)
		return stderr, func() {}
	}
	if err := unix.Dup2(int(logFile.Fd()), 2); err != nil {
		log.Warn("stderr not redirected to the log", "err", err)
		_ = unix.Close(saved)
		return stderr, func() {}
	}
	terminal := os.NewFile(uintptr(saved), "stderr")
	return terminal, func() {
		_ = unix.Dup2(saved, 2)
		_ = terminal.Close()
	}
}

// terminalProfile is the terminal's colour profile capped at 256 colours:
// truecolor video costs about seven times the bytes (docs/stack.md, "Terminal video") on links
// that cannot spare them.
func terminalProfile() colorprofile.Profile {
	p := colorprofile.Detect(os.Stdout, os.Environ())
	return min(p, colorprofile.ANSI256)
}

// verifyWords says in the status bar whether inbound requests are
// authenticated; the log has the full mode.
func verifyWords(cfg *consoleConfig) string {
	if cfg.hub != "" {
		return "sigs by hub"
	}
	if cfg.verify == "off" && cfg.keyring == nil {
		return "sigs NOT verified"
	}
	return "sigs verified"
}

// recordWords warns in the title line when consultations are not kept.
func recordWords(cfg *consoleConfig) string {
	if cfg.record == "off" {
		return "NOT RECORDING"
	}
	return ""
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

// app turns the flags into the application's configuration.
func (c *consoleConfig) app(log *slog.Logger) (app.Config, error) {
	allow, err := uhiclient.ParseFetchAllow(c.fetchAllow)
	if err != nil {
		return app.Config{}, fmt.Errorf("--fetch-allow: %w", err)
	}
	media, err := call.ParseMedia(c.media)
	if err != nil {
		return app.Config{}, err
	}
	proc, err := call.ParseAudioProcessing(c.audioProc)
	if err != nil {
		return app.Config{}, err
	}
	ice, err := c.iceOptions()
	if err != nil {
		return app.Config{}, err
	}
	keys, err := makeKeySource(c.verify, c.keyring, log)
	if err != nil {
		return app.Config{}, err
	}
	verifier := uhiclient.NoVerification()
	if keys != nil {
		if verifier, err = uhiclient.NewSignatureVerifier(keys); err != nil {
			return app.Config{}, err
		}
	}
	signer, err := makeSigner(c)
	if err != nil {
		return app.Config{}, err
	}
	chatKey, err := c.doctorChatKey()
	if err != nil {
		return app.Config{}, err
	}
	var chatKeys uhiclient.ChatKeys
	if c.chatKeys != "" {
		if chatKeys, err = uhiclient.LoadChatKeys(c.chatKeys); err != nil {
			return app.Config{}, err
		}
	}
	var store *record.Store
	switch c.record {
	case "on":
		alert := func(err error) {
			select { // the screen shows the first; the log has them all
			case c.recordErrors <- fmt.Errorf("the record could not be written: %w", err):
			default:
			}
		}
		if store, err = c.openStore(record.WithLogger(log.With("part", "record")), record.WithErrorHandler(alert)); err != nil {
			return app.Config{}, err
		}
	case "off":
	default:
		return app.Config{}, fmt.Errorf("--record %q: want on or off", c.record)
	}
	book, err := c.booking(store, keys, signer, log)
	if err != nil {
		if store != nil {
			_ = store.Close()
		}
		return app.Config{}, err
	}
	cfg := app.Config{
		Booking:     book,
		Record:      store,
		ChatKey:     &chatKey,
		ChatKeys:    chatKeys.Lookup,
		Fetch:       uhiclient.FetchPolicy{Allow: allow},
		Doctor:      uhiclient.Person{Name: c.name, Cred: c.hpr},
		ProviderID:  c.providerID,
		ProviderURI: c.providerURI,
		Verifier:    verifier,
		Signer:      signer,
		Engine: append(ice,
			call.WithMedia(media), call.WithRingTimeout(c.ring),
			call.WithLoopback(c.loopback), call.WithLowBandwidth(c.lowBandwidth),
			call.WithAudioProcessing(proc), call.WithDevices(c.camera, c.microphone, c.speaker),
		),
		Log: log,
	}
	if dir, err := c.dir(); err == nil {
		// The profile is read at each prescription: teleconsole profile
		// changes it while the console runs.
		cfg.Profile = func() (rx.Profile, error) { return rx.LoadProfile(filepath.Join(dir, rx.ProfileFile)) }
	}
	if signer != nil {
		cfg.RxKey = signer
	}
	return cfg, nil
}

// makeKeySource turns --verify into where the peers' public keys come
// from, nil for off; the demo's keyring, when set, stands in for it.
func makeKeySource(verify string, keyring *uhiclient.Keyring, log *slog.Logger) (uhiclient.KeySource, error) {
	if keyring != nil {
		return keyring, nil
	}
	mode, arg, _ := strings.Cut(verify, ":")
	switch mode {
	case "off", "":
		return nil, nil
	case "keyring":
		return uhiclient.LoadKeyring(arg)
	case "registry":
		return uhiclient.NewRegistry(arg, uhiclient.WithRegistryLogger(log.With("part", "registry")))
	default:
		return nil, fmt.Errorf("--verify %q: want off, keyring:PATH or registry:URL", verify)
	}
}

// doctorChatKey is the demo's chat key pair, or the data directory's.
func (c *consoleConfig) doctorChatKey() (uhiclient.ChatKeyPair, error) {
	if c.chatKeyPair != nil {
		return *c.chatKeyPair, nil
	}
	return c.chatKey()
}

// makeSigner is the demo's signer, or the one the flags describe.
func makeSigner(cfg *consoleConfig) (*uhiclient.Signer, error) {
	if cfg.signer != nil {
		return cfg.signer, nil
	}
	return cfg.peerFlags.signer(cfg.providerID)
}
