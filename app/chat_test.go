package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"teleconsole/call"
	"teleconsole/internal/dnstest"
	"teleconsole/record"
	"teleconsole/simpatient"
	"teleconsole/uhiclient"
	"teleconsole/waitingroom"
)

// waitChat waits for a chat event that ok accepts.
func waitChat(t *testing.T, c *Console, ok func(record.Message) bool) record.Message {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-c.ChatEvents():
			if ok(m) {
				return m
			}
		case <-timeout:
			t.Fatal("no such chat event within 10 s")
		}
	}
}

func waitPatientText(t *testing.T, events <-chan simpatient.Event, kind simpatient.EventKind, prefix string) simpatient.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Kind == kind && strings.HasPrefix(e.Text, prefix) {
				return e
			}
			if e.Kind == simpatient.EventError {
				t.Fatalf("patient: %s", e.Text)
			}
		case <-timeout:
			t.Fatalf("the patient never reported %q", prefix)
		}
	}
}

// TestChatAndRecordOverHTTP: encrypted chat both ways with a simulated
// patient in the reference apps' format, a photo in and a PDF out, a
// message from a patient whose key is unknown kept as unreadable, and a
// call; then the record holds all of it.
func TestChatAndRecordOverHTTP(t *testing.T) {
	dir := t.TempDir()
	store, err := record.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	doctorKey, _ := uhiclient.NewChatKeyPair(rand.Reader)
	patientKey, _ := uhiclient.NewChatKeyPair(rand.Reader)
	strangerKey, _ := uhiclient.NewChatKeyPair(rand.Reader)
	const addr, stranger = "asha@sbx", "ravi@sbx"
	keys := uhiclient.ChatKeys{addr: patientKey.Public}
	r := newConfigRig(t, func(c *Config) {
		c.Record, c.ChatKey, c.ChatKeys = store, &doctorKey, keys.Lookup
	})
	t.Cleanup(func() { _ = store.Close() })
	p, events := r.addPatient(simpatient.Config{Name: "Asha K", Gender: "F", Address: addr,
		ChatKey: &patientKey, DoctorChatKey: &doctorKey.Public})
	waitPatientEvent(t, events, simpatient.EventAcked, 5*time.Second)
	ctx := context.Background()

	// Patient to doctor, encrypted.
	if err := p.SendText(ctx, "my camera is broken"); err != nil {
		t.Fatal(err)
	}
	in := waitChat(t, r.console, func(m record.Message) bool { return m.Direction == record.In })
	if in.Text != "my camera is broken" || !in.Encrypted || in.Status != "received" || in.Peer != addr {
		t.Fatalf("doctor got %+v", in)
	}
	// Doctor to patient, encrypted, and its delivery result.
	if err := r.console.SendChat(addr, "send a photo of the rash"); err != nil {
		t.Fatal(err)
	}
	waitPatientText(t, events, simpatient.EventChat, "chat received (encrypted): send a photo of the rash")
	sent := waitChat(t, r.console, func(m record.Message) bool { return m.Direction == record.Out && m.Status != "sending" })
	if sent.Status != "sent" || !sent.Encrypted {
		t.Fatalf("sent %+v", sent)
	}
	// A photo in, kept with its digest.
	photo := bytes.Repeat([]byte{0xff, 0xd8, 0xff, 0xe0}, 1000)
	if err := p.SendMedia(ctx, "rash.jpg", "image/jpeg", photo); err != nil {
		t.Fatal(err)
	}
	media := waitChat(t, r.console, func(m record.Message) bool { return m.ContentType == "media" })
	store.Flush() // the file is written by the store's writer
	if got, err := os.ReadFile(media.Path); err != nil || !bytes.Equal(got, photo) || media.Text != "rash.jpg" {
		t.Fatalf("photo kept at %q: %d bytes, %v (%+v)", media.Path, len(got), err, media)
	}
	// A PDF out.
	pdf := filepath.Join(t.TempDir(), "prescription.pdf")
	_ = os.WriteFile(pdf, []byte("%PDF-1.4\nparacetamol 500 mg\n%%EOF\n"), 0o600)
	if err := r.console.SendFile(addr, pdf); err != nil {
		t.Fatal(err)
	}
	got := waitPatientText(t, events, simpatient.EventChat, "file received: prescription.pdf application/pdf")
	if !bytes.Contains(got.Data, []byte("paracetamol")) {
		t.Fatalf("patient got %q", got.Data)
	}
	// The result is recorded after the patient has it.
	waitChat(t, r.console, func(m record.Message) bool { return m.Text == "prescription.pdf" && m.Status == "sent" })

	// A patient whose key the console does not have: kept, unreadable.
	q, qEvents := r.addPatient(simpatient.Config{Address: stranger, ChatKey: &strangerKey, DoctorChatKey: &doctorKey.Public})
	waitPatientEvent(t, qEvents, simpatient.EventAcked, 5*time.Second)
	if err := q.SendText(ctx, "hello?"); err != nil {
		t.Fatal(err)
	}
	odd := waitChat(t, r.console, func(m record.Message) bool { return m.Peer == stranger })
	if !strings.HasPrefix(odd.Status, "unreadable: no chat key") || !uhiclient.IsSealed(odd.Text) || strings.Contains(odd.Text, "hello?") {
		t.Fatalf("stranger's message %+v", odd)
	}

	// A call, and notes.
	if err := r.console.Call(addr); err != nil {
		t.Fatal(err)
	}
	r.waitState(call.StateConnected, 15*time.Second)
	r.console.SetNotes(addr, "rash on the left arm")
	time.Sleep(300 * time.Millisecond)
	r.console.Hangup()
	r.waitState(call.StateEnded, 10*time.Second)
	r.waitPatient(addr, waitingroom.StateDone, 2*time.Second)
	// Sent after the call: the prescription belongs to the same consultation.
	if err := r.console.SendChat(addr, "take it twice a day"); err != nil {
		t.Fatal(err)
	}
	waitPatientText(t, events, simpatient.EventChat, "chat received (encrypted): take it twice a day")
	waitChat(t, r.console, func(m record.Message) bool { return m.Text == "take it twice a day" && m.Status == "sent" })
	store.Flush()

	list, err := store.List(ctx, record.Filter{Patient: addr})
	if err != nil || len(list) != 1 {
		t.Fatalf("asha's consultations: %+v, %v", list, err)
	}
	d, err := store.Get(ctx, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.State != record.StateEnded || d.EndReason != "ended by doctor" || d.Length <= 0 || d.CallStarted.IsZero() ||
		d.Patient.Name != "Asha K" || d.Patient.TransactionID == "" || d.Doctor != testDoctor || d.Notes != "rash on the left arm" ||
		d.Quality.Setup <= 0 {
		t.Errorf("consultation %+v", d.Consultation)
	}
	var texts []string
	for _, m := range d.ChatLog {
		texts = append(texts, string(m.Direction)+":"+m.Text+":"+m.Status)
	}
	want := []string{"in:my camera is broken:received", "out:send a photo of the rash:sent", "in:rash.jpg:received: image/jpeg, 4000 bytes",
		"out:prescription.pdf:sent", "out:take it twice a day:sent"}
	if strings.Join(texts, "\n") != strings.Join(want, "\n") {
		t.Errorf("chat log\n%s\nwant\n%s", strings.Join(texts, "\n"), strings.Join(want, "\n"))
	}
	if len(d.FileList) != 2 || d.FileList[0].Direction != record.In || d.FileList[1].Name != "prescription.pdf" || d.FileList[1].MimeType != "application/pdf" {
		t.Errorf("files %+v", d.FileList)
	}
	strangers, _ := store.List(ctx, record.Filter{Patient: stranger})
	if len(strangers) != 1 || strangers[0].Messages != 1 {
		t.Errorf("stranger's record %+v", strangers)
	}
}

// BenchmarkChatToPatient is a chat message's time from SendChat (the
// doctor's Enter) to the patient's endpoint having opened it, encrypted,
// over loopback HTTP; it reports the median and the 99th percentile.
func BenchmarkChatToPatient(b *testing.B) {
	doctorKey, _ := uhiclient.NewChatKeyPair(rand.Reader)
	patientKey, _ := uhiclient.NewChatKeyPair(rand.Reader)
	const addr = "asha@sbx"
	keys := uhiclient.ChatKeys{addr: patientKey.Public}
	store, err := record.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	r := newConfigRig(b, func(c *Config) { c.Record, c.ChatKey, c.ChatKeys = store, &doctorKey, keys.Lookup })
	b.Cleanup(func() { _ = store.Close() })
	got := make(chan time.Time, 16)
	cfg := simpatient.Config{Address: addr, ChatKey: &patientKey, DoctorChatKey: &doctorKey.Public, Doctor: testDoctor,
		ConsoleURI: r.uri, ReadyInterval: 200 * time.Millisecond}
	acked := make(chan struct{}, 1)
	p, err := simpatient.New(cfg, r.engine, r.client, simpatient.WithEvents(func(e simpatient.Event) {
		switch e.Kind {
		case simpatient.EventChat:
			got <- time.Now()
		case simpatient.EventAcked:
			acked <- struct{}{}
		}
	}))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(r.ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	<-acked
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		if err := r.console.SendChat(addr, "take it twice a day after food"); err != nil {
			b.Fatal(err)
		}
		select {
		case at := <-got:
			lat = append(lat, at.Sub(start))
		case <-time.After(5 * time.Second):
			b.Fatal("the patient never got the message")
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// TestChatMediaByURL: an attachment given as a content_url is fetched and
// kept; one too large to fetch is kept as a message that says so.
func TestChatMediaByURL(t *testing.T) {
	store, err := record.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The file server is on loopback: allowed as a clinic's LAN would be.
	allow, err := uhiclient.ParseFetchAllow("127.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	r := newConfigRig(t, func(c *Config) { c.Record, c.Fetch.Allow = store, allow })
	t.Cleanup(func() { _ = store.Close() })
	pdf := []byte("%PDF-1.4\nlab report\n%%EOF\n")
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/big.pdf" {
			_, _ = w.Write(make([]byte, uhiclient.DefaultMaxMedia+1))
			return
		}
		_, _ = w.Write(pdf)
	}))
	defer files.Close()
	const addr = "asha@sbx"
	_, events := r.addPatient(simpatient.Config{Address: addr})
	waitPatientEvent(t, events, simpatient.EventAcked, 5*time.Second)
	b, err := uhiclient.NewBuilder(uhiclient.Identity{Self: uhiclient.Person{Cred: addr}, Peer: uhiclient.Person{Cred: testDoctor},
		ConsumerURI: "http://127.0.0.1:9/api/v1", ProviderURI: r.uri, TransactionID: "txn"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"report.pdf", "big.pdf"} {
		env := b.Media(name, "", nil)
		c := &env.Message.Intent.Chat.Content
		u := files.URL + "/" + name
		c.ContentValue, c.ContentURL = "", &u
		if err := r.client.Send(context.Background(), r.uri, env); err != nil {
			t.Fatal(err)
		}
		m := waitChat(t, r.console, func(m record.Message) bool { return m.Text == name })
		store.Flush()
		if name == "big.pdf" {
			if !strings.Contains(m.Status, "attachment too large") || m.Path != "" {
				t.Errorf("big: %+v", m)
			}
			continue
		}
		got, err := os.ReadFile(m.Path)
		if err != nil || !bytes.Equal(got, pdf) || !strings.Contains(m.Status, "application/pdf") {
			t.Errorf("fetched %+v: %q, %v", m, got, err)
		}
	}
}

// TestChatMediaURLInsideRefused: content_urls that lead inside the
// clinic's network (loopback, private, link-local, by a name that resolves
// there, by a redirect) are not fetched: each message is ACKed, kept in
// the record and shown as refused, with the reason. Nothing is sent to an
// address other than loopback: a refusal the console missed would reach
// the test's own dialer control, which refuses the rest.
func TestChatMediaURLInsideRefused(t *testing.T) {
	store, err := record.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var insideHits atomic.Int64
	inside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		insideHits.Add(1)
		_, _ = w.Write([]byte("router admin page"))
	}))
	defer inside.Close()
	insidePort := inside.Listener.Addr().(*net.TCPAddr).Port
	// A server taken for one on the internet, that redirects inside.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	public := httptest.NewUnstartedServer(http.RedirectHandler(inside.URL+"/admin", http.StatusFound))
	public.Listener = ln
	public.Start()
	defer public.Close()
	dns, err := dnstest.NewServer(map[string][]netip.Addr{
		"media.clinic.test":     {netip.MustParseAddr("127.0.0.1")},
		"files.patientapp.test": {netip.MustParseAddr("127.0.0.2")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	loopbackOnly := func(_ context.Context, _, address string, _ syscall.RawConn) error {
		if ap, err := netip.ParseAddrPort(address); err != nil || !ap.Addr().Unmap().IsLoopback() {
			return fmt.Errorf("test safety net: would have connected to %s", address)
		}
		return nil
	}
	r := newConfigRig(t, func(c *Config) {
		c.Record = store
		c.Fetch = uhiclient.FetchPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")},
			Dialer: &net.Dialer{Resolver: dns.Resolver(), ControlContext: loopbackOnly}}
	})
	t.Cleanup(func() { _ = store.Close() })
	const addr = "asha@sbx"
	_, events := r.addPatient(simpatient.Config{Address: addr})
	waitPatientEvent(t, events, simpatient.EventAcked, 5*time.Second)
	b, err := uhiclient.NewBuilder(uhiclient.Identity{Self: uhiclient.Person{Cred: addr}, Peer: uhiclient.Person{Cred: testDoctor},
		ConsumerURI: "http://127.0.0.1:9/api/v1", ProviderURI: r.uri, TransactionID: "txn"})
	if err != nil {
		t.Fatal(err)
	}
	urls := map[string]string{
		"loopback.jpg":  inside.URL + "/admin",
		"private.jpg":   "http://10.0.0.1/",
		"metadata.jpg":  "http://169.254.169.254/latest/meta-data/",
		"loopback6.jpg": "http://[::1]:9/x",
		"named.jpg":     fmt.Sprintf("http://media.clinic.test:%d/admin", insidePort),
		"redirect.jpg":  "http://files.patientapp.test:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + "/photo.jpg",
	}
	why := map[string]string{
		"loopback.jpg": "127.0.0.1 is a loopback address", "private.jpg": "10.0.0.1 is a private address",
		"metadata.jpg": "169.254.169.254 is a link-local address", "loopback6.jpg": "::1 is a loopback address",
		"named.jpg": "127.0.0.1 is a loopback address", "redirect.jpg": "127.0.0.1 is a loopback address",
	}
	var consultation string
	for name, u := range urls {
		env := b.Media(name, "image/jpeg", nil)
		c := &env.Message.Intent.Chat.Content
		c.ContentValue, c.ContentURL = "", &u
		if err := r.client.Send(context.Background(), r.uri, env); err != nil {
			t.Fatalf("%s: not ACKed: %v", name, err)
		}
		m := waitChat(t, r.console, func(m record.Message) bool { return m.Text == name })
		if !strings.HasPrefix(m.Status, "refused: ") || !strings.Contains(m.Status, why[name]) || m.Path != "" {
			t.Errorf("%s (%s): shown as %q, want refused: %s", name, u, m.Status, why[name])
		}
		consultation = m.Consultation
	}
	if n := insideHits.Load(); n != 0 {
		t.Errorf("the server inside was sent %d requests", n)
	}
	store.Flush()
	d, err := store.Get(context.Background(), consultation)
	if err != nil {
		t.Fatal(err)
	}
	kept := map[string]string{}
	for _, m := range d.ChatLog {
		kept[m.Text] = m.Status
	}
	for name := range urls {
		if !strings.HasPrefix(kept[name], "refused: ") || !strings.Contains(kept[name], why[name]) {
			t.Errorf("%s kept as %q, want refused: %s", name, kept[name], why[name])
		}
	}
}

// TestChatMediaURLRefusedByDefault: a console configured with no fetch
// policy at all refuses a content_url on loopback (only loopback here, so
// that a console that fetched anything would send nothing off the
// machine).
func TestChatMediaURLRefusedByDefault(t *testing.T) {
	var hits atomic.Int64
	inside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("router admin page"))
	}))
	defer inside.Close()
	r := newRig(t)
	const addr = "asha@sbx"
	_, events := r.addPatient(simpatient.Config{Address: addr})
	waitPatientEvent(t, events, simpatient.EventAcked, 5*time.Second)
	b, err := uhiclient.NewBuilder(uhiclient.Identity{Self: uhiclient.Person{Cred: addr}, Peer: uhiclient.Person{Cred: testDoctor},
		ConsumerURI: "http://127.0.0.1:9/api/v1", ProviderURI: r.uri, TransactionID: "txn"})
	if err != nil {
		t.Fatal(err)
	}
	env := b.Media("photo.jpg", "image/jpeg", nil)
	u := inside.URL + "/admin"
	env.Message.Intent.Chat.Content.ContentValue, env.Message.Intent.Chat.Content.ContentURL = "", &u
	if err := r.client.Send(context.Background(), r.uri, env); err != nil {
		t.Fatalf("not ACKed: %v", err)
	}
	m := waitChat(t, r.console, func(m record.Message) bool { return m.Text == "photo.jpg" })
	if !strings.Contains(m.Status, "refused: ") || !strings.Contains(m.Status, "127.0.0.1 is a loopback address") || hits.Load() != 0 {
		t.Errorf("shown as %q, %d requests to the server inside", m.Status, hits.Load())
	}
}

// TestChatOnlyConsultationEndsWithTheConsole: a consultation that had chat
// and no call is ended when the console closes, not left to be taken for
// interrupted.
func TestChatOnlyConsultationEndsWithTheConsole(t *testing.T) {
	dir := t.TempDir()
	store, err := record.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := newConfigRig(t, func(c *Config) { c.Record = store })
	p, events := r.addPatient(simpatient.Config{Address: "asha@sbx"})
	waitPatientEvent(t, events, simpatient.EventAcked, 5*time.Second)
	if err := p.SendText(context.Background(), "are you there?"); err != nil {
		t.Fatal(err)
	}
	waitChat(t, r.console, func(m record.Message) bool { return m.Direction == record.In })
	if err := r.console.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = store.Close()
	store, err = record.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	list, _ := store.List(context.Background(), record.Filter{})
	if len(list) != 1 || list[0].State != record.StateEnded || list[0].EndReason != "no call" || list[0].Messages != 1 {
		t.Fatalf("after a clean stop: %+v", list)
	}
}
