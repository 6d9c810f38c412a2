package hub

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"teleconsole/uhiclient"
)

// BenchmarkHubToConsoles posts signed READYs to the hub for 100 connected
// consoles, at a steady rate (TELECONSOLE_HUB_RATE, default 2,000 a
// second) spread over them, and reports the latency from the instant each
// request was due to the console's receipt of the message, p50 and p99,
// and the rate achieved. b.N is the number of requests: run it with
// -benchtime 6000x for three seconds at 2,000 a second.
func BenchmarkHubToConsoles(b *testing.B) {
	const (
		consoles  = 100
		loadConns = 64 // connections the load is spread over
	)
	rate := 2000.0
	if v := os.Getenv("TELECONSOLE_HUB_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 {
			b.Fatalf("TELECONSOLE_HUB_RATE=%q: want requests a second", v)
		}
		rate = r
	}
	docs := make([]Doctor, consoles)
	for i := range docs {
		docs[i] = Doctor{Address: fmt.Sprintf("doctor%03d@hpr.ndhm", i), User: fmt.Sprintf("d%d", i), Password: "pw"}
	}
	ns, err := StartServer(ServerConfig{Listen: "127.0.0.1:0", DataDir: b.TempDir(), Doctors: docs, HubUser: "hub", HubPassword: hubPass})
	if err != nil {
		b.Fatal(err)
	}
	defer ns.Shutdown()

	// The patients' key, which the hub checks every request against.
	pub, priv, err := uhiclient.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := uhiclient.NewSigner(priv, "eua", "k1")
	if err != nil {
		b.Fatal(err)
	}
	pubText, _ := uhiclient.EncodePublicKey(pub)
	keys, err := uhiclient.NewKeyring(map[string]string{signer.KeyID(): pubText})
	if err != nil {
		b.Fatal(err)
	}
	verifier, err := uhiclient.NewSignatureVerifier(keys)
	if err != nil {
		b.Fatal(err)
	}
	nc, err := nats.Connect(ns.ClientURL(), nats.UserInfo("hub", hubPass))
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	client, _ := uhiclient.NewClient()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	h, err := New(ctx, Config{Doctors: docs, Conn: nc, Client: client, Verifier: verifier, ProviderID: "hospital",
		ProviderURI: "https://hospital.example/api/v1"})
	cancel()
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()

	// The consoles, each noting when each message reached it.
	var (
		mu       sync.Mutex
		received = map[string]time.Time{}
		got      sync.WaitGroup
	)
	links := make([]*Link, consoles)
	for i, d := range docs {
		l, err := Dial(LinkConfig{URL: ns.ClientURL(), Doctor: d.Address, Options: []nats.Option{nats.UserInfo(d.User, d.Password)},
			Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Start(nil); err != nil {
			b.Fatal(err)
		}
		links[i] = l
		go func() {
			for in := range l.Signals() {
				mu.Lock()
				received[in.MessageID] = in.ReceivedAt
				mu.Unlock()
				got.Done()
			}
		}()
	}
	defer func() {
		for _, l := range links {
			_ = l.Close(context.Background())
			l.Disconnect()
		}
	}()
	for _, d := range docs {
		for {
			if _, ok := h.lastSeen(d.Address); ok {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}

	// The requests, made and signed before the clock starts.
	type request struct {
		id, auth string
		body     []byte
	}
	reqs := make([]request, b.N)
	for i := range reqs {
		body := patientReady(b, docs[i%consoles].Address, "http://p/api/v1")
		in, err := uhiclient.Decode(body)
		if err != nil {
			b.Fatal(err)
		}
		reqs[i] = request{id: in.MessageID, auth: signer.Sign(body), body: body}
	}
	// The load: a pool of connections kept alive, each writing its
	// request ready-made and reading the reply with net/http's parser. A
	// net/http client took 24% of the process's CPU here, more than the
	// NATS server (12%), from the two cores the hub under test runs on.
	// Each request's latency counts from the instant it was due, not from
	// when a connection was free to send it, so a stall is not hidden by
	// the requests it held back.
	host := strings.TrimPrefix(srv.URL, "http://")
	wire := make([][]byte, b.N)
	for i, r := range reqs {
		wire[i] = fmt.Appendf(nil, "POST /api/v1/on_message HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAuthorization: %s\r\nContent-Length: %d\r\n\r\n%s",
			host, r.auth, len(r.body), r.body)
	}
	due, acked := make([]time.Time, b.N), make([]time.Time, b.N)
	var failed sync.Map
	got.Add(b.N)
	interval := time.Duration(float64(time.Second) / rate)
	queue := make(chan int, b.N)
	var posts sync.WaitGroup
	for range loadConns {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		posts.Go(func() {
			rd := bufio.NewReader(conn)
			for i := range queue {
				if _, err := conn.Write(wire[i]); err != nil {
					failed.Store(i, err.Error())
					return
				}
				resp, err := http.ReadResponse(rd, nil)
				if err != nil {
					failed.Store(i, err.Error())
					return
				}
				reply, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				acked[i] = time.Now()
				if resp.StatusCode != http.StatusOK {
					failed.Store(i, fmt.Sprintf("%d %s", resp.StatusCode, reply))
				}
			}
		})
	}
	cpu0 := processCPU(b)
	b.ResetTimer()
	start := time.Now()
	for i := range reqs {
		due[i] = start.Add(time.Duration(i) * interval)
		if wait := time.Until(due[i]); wait > 0 {
			time.Sleep(wait)
		}
		queue <- i
	}
	close(queue)
	posts.Wait()
	failed.Range(func(k, v any) bool { b.Fatalf("request %v: %v", k, v); return false })
	got.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := processCPU(b) - cpu0

	lat, ackLat := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	for i, r := range reqs {
		lat = append(lat, received[r.id].Sub(due[i]))
		ackLat = append(ackLat, acked[i].Sub(due[i]))
	}
	slices.Sort(lat)
	slices.Sort(ackLat)
	b.ReportMetric(float64(ackLat[len(ackLat)/2].Microseconds())/1000, "ack-p50-ms")
	b.ReportMetric(float64(ackLat[len(ackLat)*99/100].Microseconds())/1000, "ack-p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	// The CPU of the whole process (load, hub, NATS server, consoles) per
	// request: what the rate would cost on an idle machine, whatever else
	// runs now.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/req")
}

// processCPU is the CPU time the process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
