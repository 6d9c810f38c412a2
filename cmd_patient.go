package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // --picture
	_ "image/png"  // --picture
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"teleconsole/call"
	"teleconsole/simpatient"
	"teleconsole/uhiclient"
)

// runPatient runs one simulated patient against any HSPA until interrupted,
// printing what happens to it, one line each.
func runPatient(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("teleconsole patient", "usage: teleconsole patient --console URL --abha ADDRESS --hpr ADDRESS [flags]\n\n"+
		"A simulated patient (EUA) against any HSPA. Every flag can also be set from\n"+
		"the environment as TELECONSOLE_PATIENT_..., e.g. TELECONSOLE_PATIENT_ICE_SERVERS.", stderr)
	var cfg simpatient.Config
	fs.StringVar(&cfg.ConsoleURI, "console", "", "the HSPA's provider_uri `URL`; the patient posts to URL/on_message (required)")
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:0", "`HOST:PORT` for the patient's own on_message endpoint")
	fs.StringVar(&cfg.Name, "name", "", "the patient's name")
	fs.StringVar(&cfg.Gender, "gender", "M", "the patient's gender: M, F or O")
	fs.StringVar(&cfg.Address, "abha", "", "the patient's ABHA `ADDRESS` (required)")
	fs.StringVar(&cfg.Doctor, "hpr", "", "the HPR `ADDRESS` of the doctor booked (required)")
	fs.DurationVar(&cfg.ReadyInterval, "ready-interval", 5*time.Second, "time between READYs until the doctor ACKs")
	fs.DurationVar(&cfg.AnswerDelay, "answer-delay", 0, "how long the patient takes to accept a call")
	fs.BoolVar(&cfg.Decline, "decline", false, "refuse every call with BYE")
	fs.BoolVar(&cfg.Rejoin, "rejoin", false, "READY again after each call")
	peerDefaults := defaultPeerFlags()
	peerDefaults.subscriberID = "teleconsole-patient"
	var peer peerFlags
	peer.register(fs, peerDefaults, "")
	logPath := fs.String("log", "", "log `FILE` for the WebRTC engine and the wire (default: none)")
	picturePath := fs.String("picture", "", "a PNG or JPEG `FILE` the patient's camera shows, still, instead of the moving picture")
	chatKeyPath := fs.String("chat-key", "", "the patient's chat key pair `FILE` (made if missing); with --doctor-chat-key, chat goes encrypted")
	doctorKey := fs.String("doctor-chat-key", "", "the doctor's chat public `KEY`, as teleconsole chat-key prints it")
	say := fs.String("say", "", "chat `TEXT` to send the doctor once the call is connected")
	sendFile := fs.String("send-file", "", "a `FILE` to send the doctor once the call is connected")
	photoPath := fs.String("photo", "", "a picture `FILE` sent as the patient's photo in every READY (person.image, base64), as the reference app sends one")
	book := fs.String("book", "", "book first, over UHI (search, init, confirm), a `TYPE` of consultation: Teleconsultation, Online or Physical; the READY then carries the booking's transaction")
	gateway := fs.String("book-via", "", "with --book, search through the UHI gateway at this base `URI` first")
	if code, done := parseCommand(fs, args, patientLookup); done {
		return code
	}
	if cfg.ConsoleURI == "" || cfg.Address == "" || cfg.Doctor == "" {
		return fail(stderr, errors.New("patient: --console, --abha and --hpr are required"))
	}
	if *book != "" {
		if uhiclient.ParseServiceType(*book) == uhiclient.ServiceUnknown {
			return fail(stderr, fmt.Errorf("--book %q: want Teleconsultation, Online or Physical", *book))
		}
		cfg.Book = &simpatient.Book{Type: *book, Gateway: *gateway}
	}
	if *chatKeyPath != "" {
		pair, err := uhiclient.LoadOrCreateChatKeyPair(*chatKeyPath)
		if err != nil {
			return fail(stderr, err)
		}
		cfg.ChatKey = &pair
	}
	if *doctorKey != "" {
		k, err := uhiclient.ParseChatKey(*doctorKey)
		if err != nil {
			return fail(stderr, fmt.Errorf("--doctor-chat-key: %w", err))
		}
		cfg.DoctorChatKey = &k
	}
	if *photoPath != "" {
		data, err := os.ReadFile(*photoPath)
		if err != nil {
			return fail(stderr, err)
		}
		cfg.Image = base64.StdEncoding.EncodeToString(data)
	}
	var attachment []byte
	if *sendFile != "" {
		var err error
		if attachment, err = os.ReadFile(*sendFile); err != nil {
			return fail(stderr, err)
		}
	}

	log := slog.New(slog.DiscardHandler)
	if *logPath != "" {
		f, err := openLog(*logPath)
		if err != nil {
			return fail(stderr, err)
		}
		defer f.Close()
		log = slog.New(slog.NewTextHandler(f, nil))
	}
	ice, err := peer.iceOptions()
	if err != nil {
		return fail(stderr, err)
	}
	engineOpts := append(ice, call.WithMedia(call.MediaSynthetic),
		call.WithPlayback(false), call.WithLoopback(peer.loopback), call.WithLogger(log),
		call.WithLowBandwidth(peer.lowBandwidth))
	if *picturePath != "" {
		img, err := readPicture(*picturePath)
		if err != nil {
			return fail(stderr, err)
		}
		engineOpts = append(engineOpts, call.WithPicture(img))
	}
	engine, err := call.New(engineOpts...)
	if err != nil {
		return fail(stderr, err)
	}
	var clientOpts []uhiclient.ClientOption
	signer, err := peer.signer("")
	if err != nil {
		return fail(stderr, err)
	}
	if signer != nil {
		clientOpts = append(clientOpts, uhiclient.WithSigner(signer))
	}
	client, err := uhiclient.NewClient(clientOpts...)
	if err != nil {
		return fail(stderr, err)
	}
	lines := make(chan string, 64)
	printed := make(chan struct{})
	go func() {
		defer close(printed)
		for l := range lines {
			fmt.Fprintln(stdout, l)
		}
	}()
	connected := make(chan struct{}, 1)
	p, err := simpatient.New(cfg, engine, client, simpatient.WithLogger(log), simpatient.WithEvents(func(e simpatient.Event) {
		line := e.At.Format("15:04:05") + " " + e.Text
		if e.Kind == simpatient.EventBooked && len(e.Data) > 0 {
			line += ", check-in PIN " + string(e.Data) // as the patient's app shows it
		}
		lines <- line
		if e.Kind == simpatient.EventCall && e.State == call.StateConnected {
			select {
			case connected <- struct{}{}:
			default:
			}
		}
	}))
	if err != nil {
		close(lines)
		<-printed
		return fail(stderr, err)
	}
	chatCtx, stopChat := context.WithCancel(ctx)
	var chatting sync.WaitGroup
	if *say != "" || attachment != nil {
		// Once the call is up, as a patient who types while they talk.
		chatting.Go(func() {
			ctx := chatCtx
			select {
			case <-ctx.Done():
				return
			case <-connected:
			}
			if *say != "" {
				if err := p.SendText(ctx, *say); err != nil {
					lines <- "chat not sent: " + err.Error()
				}
			}
			if attachment != nil {
				name := filepath.Base(*sendFile)
				if err := p.SendMedia(ctx, name, uhiclient.MediaType("", name, attachment), attachment); err != nil {
					lines <- "file not sent: " + err.Error()
				}
			}
		})
	}
	err = p.Run(ctx)
	stopChat()
	chatting.Wait()
	close(lines)
	<-printed
	if err != nil {
		return fail(stderr, err)
	}
	return 0
}

// patientLookup reads the patient's flags from TELECONSOLE_PATIENT_...
// variables, so a patient and a console can share one environment.
func patientLookup(key string) (string, bool) {
	return osLookup("TELECONSOLE_PATIENT_" + key[len(envPrefix):])
}

// readPicture decodes the PNG or JPEG file at path.
func readPicture(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--picture: %w", err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("--picture %s: %w", path, err)
	}
	return img, nil
}
