package hub

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"teleconsole/app"
	"teleconsole/call"
	"teleconsole/simpatient"
	"teleconsole/uhiclient"
	"teleconsole/waitingroom"
)

// BenchmarkCallSetup times a call's setup, from Call to the console's
// Connected, through the hub and in the direct mode, on loopback with
// synthetic media; each iteration calls a new simulated patient. It
// reports the median and the mean.
func BenchmarkCallSetup(b *testing.B) {
	b.Run("direct", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		c, err := app.New(app.Config{Doctor: uhiclient.Person{Cred: doctorA}, Engine: testMedia(),
			ProviderURI: "http://" + ln.Addr().String() + "/api/v1"})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Start(ln); err != nil {
			b.Fatal(err)
		}
		defer func() { _ = c.Close(context.Background()) }()
		setups(b, c, "http://"+ln.Addr().String()+"/api/v1")
	})
	b.Run("hub", func(b *testing.B) {
		r := newRig(b)
		h := r.addHub(nil, nil)
		c := r.console(testDoctors()[0])
		r.waitOnline(doctorA)
		setups(b, c, h.srv.URL+"/api/v1")
	})
}

func setups(b *testing.B, c *app.Console, consoleURI string) {
	engine, err := call.New(testMedia()...)
	if err != nil {
		b.Fatal(err)
	}
	client, err := uhiclient.NewClient(uhiclient.WithRetry(3, 20*time.Millisecond, 200*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	var took []time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		addr := fmt.Sprintf("patient%d@sbx", i)
		p, err := simpatient.New(simpatient.Config{Address: addr, Doctor: doctorA, ConsoleURI: consoleURI,
			ReadyInterval: 100 * time.Millisecond}, engine, client)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = p.Run(ctx) }()
		waitListedB(b, c, addr)
		b.StartTimer()
		start := time.Now()
		if err := c.Call(addr); err != nil {
			b.Fatal(err)
		}
		waitCallB(b, c, call.StateConnected)
		took = append(took, time.Since(start))
		b.StopTimer()
		c.Hangup()
		waitCallB(b, c, call.StateEnded)
		cancel()
		<-done
		b.StartTimer()
	}
	b.StopTimer()
	var sum time.Duration
	for _, d := range took {
		sum += d
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(sum.Microseconds())/1000/float64(len(took)), "mean-ms")
}

func waitListedB(b *testing.B, c *app.Console, addr string) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, p := range c.Patients() {
			if p.Address == addr && p.State == waitingroom.StateWaiting {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s never listed", addr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitCallB(b *testing.B, c *app.Console, want call.State) {
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev := <-c.Events():
			if se, ok := ev.(call.StateEvent); ok && se.State == want {
				return
			}
		case <-timeout:
			b.Fatalf("the console never reported %s", want)
		}
	}
}
