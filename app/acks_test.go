package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"teleconsole/uhiclient"
	"teleconsole/waitingroom"
)

func TestAckQueue(t *testing.T) {
	q := newAckQueue(3)
	for _, a := range []string{"a", "b", "a", "c"} {
		q.push(a)
	}
	q.push("d") // past the bound: the oldest ("a") goes
	var got []string
	q.close()
	q.push("e") // after close: ignored
	for {
		a, ok := q.pop()
		if !ok {
			break
		}
		got = append(got, a)
	}
	if want := []string{"b", "c", "d"}; !slices.Equal(got, want) {
		t.Fatalf("popped %v, want %v", got, want)
	}
}

// ackSink is the patients' side of a burst: one endpoint for all of them
// that notes when each patient's ACK arrived.
type ackSink struct {
	mu    sync.Mutex
	at    map[string]time.Time
	all   chan struct{}
	want  int
	close func()
	uri   string
}

func newAckSink(t testing.TB, want int) *ackSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &ackSink{at: map[string]time.Time{}, all: make(chan struct{}), want: want, uri: "http://" + ln.Addr().String() + "/api/v1"}
	hs := &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	s.close = func() { _ = hs.Close() }
	t.Cleanup(s.close)
	return s
}

func (s *ackSink) serve(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	body, err := io.ReadAll(r.Body)
	var env uhiclient.Envelope
	if err == nil {
		err = json.Unmarshal(body, &env)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	chat := env.Message.Intent.Chat
	if strings.Contains(string(chat.Content.ContentValue), `"ACK"`) {
		s.mu.Lock()
		if _, seen := s.at[chat.Receiver.Person.Cred]; !seen {
			s.at[chat.Receiver.Person.Cred] = now
			if len(s.at) == s.want {
				close(s.all)
			}
		}
		s.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"message":{"ack":{"status":"ACK"}}}`)
}

// burst sends one READY from each of n different patients at once and
// returns when each was sent.
func burst(t testing.TB, r *rig, sink *ackSink, n int) map[string]time.Time {
	t.Helper()
	sent, err := r.readies(sink, n, 0)
	if err != nil {
		t.Fatalf("a READY was refused: %v", err)
	}
	return sent
}

// sendReadies is readies, whatever the console answers.
func (r *rig) sendReadies(sink *ackSink, n, round int) { _, _ = r.readies(sink, n, round) }

// readies sends one READY from each of n different patients (named by
// round) at once, and returns when each was sent, or the first refusal.
func (r *rig) readies(sink *ackSink, n, round int) (map[string]time.Time, error) {
	envs := make([]*uhiclient.Envelope, n)
	for i := range envs {
		addr := fmt.Sprintf("burst%02d-%03d@sbx", round, i)
		b, err := uhiclient.NewBuilder(uhiclient.Identity{
			Self: uhiclient.Person{Name: "Patient " + addr, Cred: addr}, Peer: uhiclient.Person{Cred: testDoctor},
			ConsumerID: "eua", ConsumerURI: sink.uri, ProviderURI: r.uri, TransactionID: "t-" + addr,
		})
		if err != nil {
			return nil, err
		}
		if envs[i], err = b.Ready(); err != nil {
			return nil, err
		}
	}
	var mu sync.Mutex
	sent := map[string]time.Time{}
	var g errgroup.Group
	for _, env := range envs {
		g.Go(func() error {
			at := time.Now()
			if err := r.client.Send(context.Background(), r.uri, env); err != nil {
				return err
			}
			mu.Lock()
			sent[env.Message.Intent.Chat.Sender.Person.Cred] = at
			mu.Unlock()
			return nil
		})
	}
	return sent, g.Wait()
}

// TestEveryReadyInABurstIsAcked: 200 different patients READY at once, and
// every one of them gets its ACK signal; before, at most 32 were in flight
// and the rest were skipped, to wait 5 s for the app's next READY.
func TestEveryReadyInABurstIsAcked(t *testing.T) {
	const n = 200
	r := newRig(t)
	sink := newAckSink(t, n)
	burst(t, r, sink, n)
	select {
	case <-sink.all:
	case <-time.After(30 * time.Second):
		sink.mu.Lock()
		defer sink.mu.Unlock()
		t.Fatalf("%d of %d patients got their ACK", len(sink.at), n)
	}
	if got := len(r.console.Patients()); got != n {
		t.Errorf("the waiting room lists %d patients, want %d", got, n)
	}
}

// TestFullRoomNacksReady: a room full of waiting patients refuses a new
// patient's READY, and the patient's app is told so at once, with a NACK it
// retries later (503, UHI-1503, naming the full room) rather than an ACK
// after which it would wait for a signal that never comes; it is not
// listed. A patient already in the room is still ACKed.
func TestFullRoomNacksReady(t *testing.T) {
	const n = 3
	r := newRoomRig(t, []waitingroom.Option{waitingroom.WithCapacity(n)})
	sink := newAckSink(t, n)
	burst(t, r, sink, n) // round 0: the room is full of waiting patients
	select {
	case <-sink.all:
	case <-time.After(30 * time.Second):
		t.Fatal("the patients admitted to the room did not all get their ACK")
	}

	_, err := r.readies(sink, 1, 1) // round 1: a new patient
	var nack *uhiclient.NackError
	if !errors.As(err, &nack) {
		t.Fatalf("a new patient's READY into a full room: %v; want a NACK", err)
	}
	if nack.HTTPStatus != http.StatusServiceUnavailable || nack.Code != uhiclient.CodeUnavailable ||
		!strings.Contains(nack.Message, waitingroom.ErrRoomFull.Error()) {
		t.Errorf("NACK %+v; want HTTP 503 %s naming %q", nack, uhiclient.CodeUnavailable, waitingroom.ErrRoomFull)
	}
	ps := r.console.Patients()
	if len(ps) != n {
		t.Errorf("the waiting room lists %d patients, want %d: %+v", len(ps), n, ps)
	}
	for _, p := range ps {
		if !strings.HasPrefix(p.Address, "burst00-") {
			t.Errorf("the refused patient %s is listed", p.Address)
		}
	}
	// A READY from a patient already in the room (a new message_id) is
	// ACKed as before.
	if _, err := r.readies(sink, 1, 0); err != nil {
		t.Fatalf("a READY from a patient in the full room: %v; want an ACK", err)
	}
}

// BenchmarkReadyBurst: 200 different patients READY at once; how soon each
// gets its ACK signal after its READY was sent (target: all 200, p99 < 1 s).
func BenchmarkReadyBurst(b *testing.B) {
	const n = 200
	var lat []time.Duration
	for range b.N {
		r := newRig(b)
		sink := newAckSink(b, n)
		sent := burst(b, r, sink, n)
		select {
		case <-sink.all:
		case <-time.After(30 * time.Second):
			b.Fatalf("only %d of %d patients got their ACK", len(sink.at), n)
		}
		sink.mu.Lock()
		for addr, at := range sink.at {
			lat = append(lat, at.Sub(sent[addr]))
		}
		sink.mu.Unlock()
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(float64(len(lat))/float64(b.N), "acks/burst")
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
}
