package uhiclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchConcurrency is the number of load-generating goroutines.
const benchConcurrency = 32

const benchIDPlaceholder = "MSGID-0000000000000000000000000000"

// loopback runs s on a real net/http server on 127.0.0.1 and drains its
// channels as the program would.
func loopback(b *testing.B, s *Server) (url string, stop func()) {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := s.HTTPServer(l.Addr().String())
	go func() { _ = hs.Serve(l) }()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-s.Signals():
			case <-s.Chats():
			case <-ctx.Done():
				return
			}
		}
	}()
	return "http://" + l.Addr().String(), func() {
		cancel()
		wg.Wait()
		_ = hs.Close()
	}
}

func heapInuseMB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}

// benchOnMessage posts distinct OFFERs (realistic SDP, ~5 KB) from
// benchConcurrency goroutines over keep-alive connections, signing each one
// when signed is true, and reports throughput, latency percentiles and heap.
func benchOnMessage(b *testing.B, signed bool) {
	now := time.Now
	opts := []ServerOption{WithQueueSize(4096, 16)}
	var signer *Signer
	if signed {
		pub, priv, _ := GenerateKey(nil)
		pubB64, _ := EncodePublicKey(pub)
		kr, err := NewKeyring(map[string]string{"hspa-nha|bench|ed25519": pubB64})
		if err != nil {
			b.Fatal(err)
		}
		v, _ := NewSignatureVerifier(kr, WithVerifierClock(now))
		opts = append(opts, WithVerifier(v))
		signer, _ = NewSigner(priv, "hspa-nha", "bench")
	}
	s, err := NewServer(patientAddr, opts...)
	if err != nil {
		b.Fatal(err)
	}
	base, stop := loopback(b, s)
	defer stop()
	target := base + "/api/v1/on_message"

	bld, _ := NewBuilder(doctorIdentity(), WithIDGenerator(func() string { return benchIDPlaceholder }))
	env, _ := bld.Offer(SessionID(doctorAddr, patientAddr), chromeSDP("offer"))
	tmpl := mustMarshal(b, env)
	if bytes.Count(tmpl, []byte(benchIDPlaceholder)) != 2 {
		b.Fatal("placeholder not found twice")
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: benchConcurrency * 2, MaxIdleConnsPerHost: benchConcurrency * 2, IdleConnTimeout: time.Minute,
	}}
	defer client.CloseIdleConnections()

	var seq atomic.Uint64
	var failures atomic.Uint64
	var mu sync.Mutex
	var lat []time.Duration
	heapBefore := heapInuseMB()

	b.SetBytes(int64(len(tmpl)))
	b.ReportAllocs()
	b.SetParallelism((benchConcurrency + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	start, cpuStart := time.Now(), processCPU()
	b.RunParallel(func(pb *testing.PB) {
		mine := make([]time.Duration, 0, 1024)
		id := []byte(benchIDPlaceholder)
		for pb.Next() {
			n := seq.Add(1)
			copy(id[6:], fmt.Appendf(nil, "%028d", n))
			body := bytes.ReplaceAll(tmpl, []byte(benchIDPlaceholder), id)
			t0 := time.Now()
			req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if signer != nil {
				req.Header.Set("Authorization", signer.Sign(body))
			}
			resp, err := client.Do(req)
			if err != nil {
				failures.Add(1)
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				failures.Add(1)
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed, cpu := time.Since(start), processCPU()-cpuStart
	b.StopTimer()
	if f := failures.Load(); f > 0 {
		b.Fatalf("%d of %d requests failed (stats %+v)", f, b.N, s.Stats())
	}
	if st := s.Stats(); st.Accepted != uint64(b.N) {
		b.Fatalf("accepted %d of %d", st.Accepted, b.N)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(float64(len(lat)-1)*p)]) / float64(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	// CPU of server and load generator together, per request: on this
	// 2-core machine the ceiling is about 2e6 / cpu-us/req requests per second.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/req")
	b.ReportMetric(heapBefore, "heap-before-MB")
	b.ReportMetric(heapInuseMB(), "heap-after-MB")
}

// BenchmarkOnMessageUnsigned measures on_message through a loopback server
// with verification off.
func BenchmarkOnMessageUnsigned(b *testing.B) { benchOnMessage(b, false) }

// BenchmarkOnMessageSigned measures on_message with every request signed by
// the load generator and verified by the server (docs/protocol.md §5).
func BenchmarkOnMessageSigned(b *testing.B) { benchOnMessage(b, true) }

// BenchmarkDecodeOffer measures decoding alone.
func BenchmarkDecodeOffer(b *testing.B) {
	body := offerBody(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures signature verification alone.
func BenchmarkVerify(b *testing.B) {
	body := offerBody(b)
	kr, _ := NewKeyring(map[string]string{"eua-nha|k1|ed25519": tvPublic})
	v, _ := NewSignatureVerifier(kr)
	h := signedHeader(b, body, "eua-nha|k1|ed25519", time.Now())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), h, body); err != nil {
			b.Fatal(err)
		}
	}
}
