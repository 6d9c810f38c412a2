//go:build linux

package systest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"teleconsole/internal/uhitest"
	"teleconsole/uhiclient"
	"teleconsole/waitingroom"
)

// The fault tests run the real binary: the console in tmux inside
// namespace A, simulated patients inside namespace B, the shaped link of
// netlab_test.go between them. `make faults` runs them; they need root.

const labConsolePort = "8901"

// labConsole is the real console running in namespace A, in tmux.
type labConsole struct {
	pane    *tmuxPane
	logPath string
	uri     string // its provider_uri as patients in B reach it
}

// startLabConsole starts the console in namespace A and waits for its
// waiting room.
func (l *netLab) startConsole(t *testing.T, extra ...string) *labConsole {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "console.log")
	argv := []string{"ip", "netns", "exec", l.a, binary(t),
		"--listen", "0.0.0.0:" + labConsolePort,
		"--provider-uri", "http://" + labAddrA + ":" + labConsolePort + "/api/v1",
		"--hpr", testDoctor, "--name", "Ganesh Vikram Borse",
		"--ice-servers", "", "--media", "synthetic", "--verify", "off",
		"--log", logPath,
	}
	pane := startTmux(t, 100, 30, []string{"TERM=xterm-256color"}, append(argv, extra...)...)
	t.Cleanup(func() {
		if t.Failed() {
			logText, _ := os.ReadFile(logPath)
			t.Logf("console screen:\n%s\nconsole log tail:\n%s", pane.capture(), tail(string(logText), 60))
		}
	})
	pane.waitFor("Waiting room", 15*time.Second, logPath)
	return &labConsole{pane: pane, logPath: logPath, uri: "http://" + labAddrA + ":" + labConsolePort + "/api/v1"}
}

// labPatient is a simulated patient process in namespace B.
type labPatient struct {
	cmd *exec.Cmd
	out *syncBuffer
}

// startPatient starts `teleconsole patient` in namespace B, listening on
// port, and stops it (SIGINT, so it says BYE) when the test ends.
func (l *netLab) startPatient(t *testing.T, name, abha, port string, extra ...string) *labPatient {
	t.Helper()
	out := &syncBuffer{}
	args := []string{binary(t), "patient",
		"--console", "http://" + labAddrA + ":" + labConsolePort + "/api/v1",
		"--listen", labAddrB + ":" + port,
		"--name", name, "--abha", abha, "--hpr", testDoctor,
		"--ice-servers", "", "--ready-interval", "1s",
	}
	cmd := l.command(l.b, append(args, extra...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &labPatient{cmd: cmd, out: out}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("patient %s output:\n%s", abha, tail(out.String(), 30))
		}
	})
	return p
}

func (p *labPatient) stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// waitSaw waits until the patient printed want.
func (p *labPatient) waitSaw(t *testing.T, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(p.out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the patient never printed %q; its output:\n%s", want, tail(p.out.String(), 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitScreen polls the console's screen until cond holds, and returns how
// long that took; it fails the test after d.
func (c *labConsole) waitScreen(t *testing.T, what string, d time.Duration, cond func(screen string) bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		screen := c.pane.capture()
		if cond(screen) {
			return time.Since(start)
		}
		if time.Since(start) > d {
			t.Fatalf("the console never showed %s within %v", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *labConsole) waitFor(t *testing.T, want string, d time.Duration) time.Duration {
	t.Helper()
	return c.waitScreen(t, strconvQuote(want), d, func(s string) bool { return strings.Contains(s, want) })
}

func strconvQuote(s string) string { return `"` + s + `"` }

// consolePID finds the console process under the tmux pane's shell.
func (c *labConsole) pid(t *testing.T) string {
	t.Helper()
	out, err := c.pane.tmux("list-panes", "-t", c.pane.name, "-F", "#{pane_pid}").Output()
	if err != nil {
		t.Fatal(err)
	}
	shell := strings.TrimSpace(string(out))
	// `ip netns exec` execs the binary, so the pane shell's child is it.
	pids, err := exec.Command("pgrep", "-P", shell).Output()
	if err != nil || len(strings.Fields(string(pids))) == 0 {
		t.Fatalf("no console process under pane shell %s: %v", shell, err)
	}
	return strings.Fields(string(pids))[0]
}

// TestFaultLab checks the test bed itself: the link carries TCP between the
// namespaces, adds the delay asked for, and a cut stops everything.
func TestFaultLab(t *testing.T) {
	t.Parallel()
	l := newNetLab(t)
	ln := l.listen(l.b, labAddrB+":9000")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	connect := func(d time.Duration) (time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		start := time.Now()
		c, err := l.dial(ctx, l.a, labAddrB+":9000")
		if err == nil {
			c.Close()
		}
		return time.Since(start), err
	}
	if _, err := connect(2 * time.Second); err != nil {
		t.Fatalf("no TCP across the link: %v", err)
	}
	l.shape(1_000_000, 200*time.Millisecond, 0)
	took, err := connect(2 * time.Second)
	if err != nil {
		t.Fatalf("no TCP across the shaped link: %v", err)
	}
	if took < 190*time.Millisecond {
		t.Fatalf("TCP connect took %v over a link with a 200 ms RTT", took)
	}
	l.setCut(true)
	if _, err := connect(time.Second); err == nil {
		t.Fatal("TCP connected across a cut link")
	}
	// Nothing outside the pair: namespace A has no route but the link.
	if _, err := connect(time.Second); err == nil {
		t.Fatal("unexpected connection")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if c, err := l.dial(ctx, l.a, "192.0.2.1:80"); err == nil {
		c.Close()
		t.Fatal("namespace A reached an address outside the test bed")
	}
}

// startLabCall starts the console and one patient across the link and
// connects a call to them; it returns when the console shows Connected.
func startLabCall(t *testing.T, l *netLab, consoleArgs, patientArgs []string) (*labConsole, *labPatient) {
	t.Helper()
	c := l.startConsole(t, consoleArgs...)
	p := l.startPatient(t, "Manish Pravin Kahane", "manishkahane1992@sbx", "8902", patientArgs...)
	c.waitFor(t, "Manish Pravin Kahane", 15*time.Second)
	c.pane.keys("Enter")
	took := c.waitFor(t, "Connected", 20*time.Second)
	t.Logf("call connected %v after the doctor pressed Enter", took.Round(time.Millisecond))
	p.waitSaw(t, "call Connected", 10*time.Second)
	return c, p
}

// TestFaultLinkCut5sRecovers: the link drops for 5 s mid-call; the call
// comes back on its own (ICE restart), and the doctor does nothing.
func TestFaultLinkCut5sRecovers(t *testing.T) {
	t.Parallel()
	l := newNetLab(t)
	c, p := startLabCall(t, l, nil, nil)
	time.Sleep(2 * time.Second) // media flowing
	l.setCut(true)
	cutAt := time.Now()
	noticed := c.waitFor(t, "Reconnecting", 10*time.Second)
	t.Logf("FIGURE disconnection noticed (Reconnecting shown) %v after the cut", noticed.Round(100*time.Millisecond))
	// Nothing decoded while cut: the panel's figure below is a new one.
	c.waitScreen(t, "no video decoded while the link is cut (fps in 0)", time.Until(cutAt.Add(5*time.Second)), func(s string) bool {
		return fpsIn(s) == 0
	})
	time.Sleep(time.Until(cutAt.Add(5 * time.Second)))
	l.setCut(false)
	back := c.waitScreen(t, "Connected again", 20*time.Second, func(s string) bool {
		return strings.Contains(s, "Connected") && !strings.Contains(s, "Reconnecting")
	})
	t.Logf("FIGURE call back (Connected shown) %v after the link returned", back.Round(100*time.Millisecond))
	if strings.Contains(c.pane.capture(), "Ended") {
		t.Fatal("the call ended instead of recovering")
	}
	// Media flows again: the Network panel's frames a second decoded of
	// the patient's video (fps IN/OUT), which fell to 0 while the link was
	// cut, is up again. (The whole screen changes anyway: the call's clock
	// ticks on it.)
	flows := c.waitScreen(t, "the patient's video decoded again (fps in > 0)", 10*time.Second, func(s string) bool {
		return fpsIn(s) > 0
	})
	t.Logf("FIGURE video decoded again (%d fps) %v after the call was back", fpsIn(c.pane.capture()), flows.Round(100*time.Millisecond))
	c.pane.keys("e")
	c.waitFor(t, "Ended: ended by doctor", 10*time.Second)
	p.waitSaw(t, "BYE", 10*time.Second)
}

// TestFaultLinkCutForGood: the link drops for good mid-call; the console
// ends the call as "connection lost" within 20 s, and the waiting room shows
// the patient as lost.
func TestFaultLinkCutForGood(t *testing.T) {
	t.Parallel()
	l := newNetLab(t)
	c, _ := startLabCall(t, l, nil, nil)
	time.Sleep(2 * time.Second)
	l.setCut(true)
	noticed := c.waitFor(t, "Reconnecting", 10*time.Second)
	t.Logf("FIGURE lost peer noticed (Reconnecting shown) %v after the cut", noticed.Round(100*time.Millisecond))
	ended := noticed + c.waitFor(t, "Ended: connection lost", 20*time.Second-noticed)
	t.Logf("FIGURE call ended as connection lost %v after the cut", ended.Round(100*time.Millisecond))
	// The waiting room comes back by itself, 5 s after the end.
	c.waitScreen(t, "the patient as lost in the waiting room", 15*time.Second, inWaitingRoom(rowShows("Manish Pravin Kahane", "lost")))
}

// announce sends one READY to the console from a patient whose endpoint is
// consumerURI, from inside namespace B.
func (l *netLab) announce(t *testing.T, c *labConsole, name, abha, consumerURI string) {
	t.Helper()
	client, err := uhiclient.NewClient(uhiclient.WithHTTPClient(l.httpClient(l.b, 2)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := uhiclient.NewBuilder(uhiclient.Identity{
		Self: uhiclient.Person{Name: name, Cred: abha}, Peer: uhiclient.Person{Cred: testDoctor},
		ConsumerID: "fault-test", ConsumerURI: consumerURI, ProviderURI: c.uri, TransactionID: "t-" + abha,
	})
	if err != nil {
		t.Fatal(err)
	}
	env, err := b.Ready()
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Send(context.Background(), c.uri, env); err != nil {
		t.Fatalf("READY from %s: %v", abha, err)
	}
}

// TestFaultUnreachablePatient: a patient endpoint that refuses the OFFER
// (HTTP 503), and one that is down, are each retried and then shown as
// unreachable.
func TestFaultUnreachablePatient(t *testing.T) {
	t.Parallel()
	l := newNetLab(t)
	c := l.startConsole(t)

	// A patient endpoint that ACKs everything but refuses every OFFER.
	var offers, acks atomic.Int64
	ln := l.listen(l.b, labAddrB+":8903")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		in, err := uhiclient.Decode(body)
		if err == nil && in.Signal != nil && in.Signal.Type == uhiclient.SignalOffer {
			offers.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"message":{"ack":{"status":"NACK"}},"error":{"type":"CORE-ERROR","code":"UHI-1503","message":"busy"}}`)
			return
		}
		acks.Add(1)
		_, _ = io.WriteString(w, `{"message":{"ack":{"status":"ACK"}}}`)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })

	l.announce(t, c, "Refusing Endpoint", "refuser@sbx", "http://"+labAddrB+":8903/api/v1")
	// And one whose endpoint is down: nothing listens on its port.
	l.announce(t, c, "Dead Endpoint", "dead@sbx", "http://"+labAddrB+":8904/api/v1")
	c.waitFor(t, "Dead Endpoint", 10*time.Second)

	c.pane.keys("Enter") // the first patient, selected
	took := c.waitFor(t, "Ended: patient unreachable", 20*time.Second)
	t.Logf("FIGURE refusing endpoint shown unreachable %v after the call, after %d OFFER attempts", took.Round(100*time.Millisecond), offers.Load())
	if n := offers.Load(); n < 2 {
		t.Fatalf("the OFFER was tried %d times; want retries", n)
	}
	// The waiting room comes back by itself, 5 s after the end.
	c.waitScreen(t, "the refusing patient as unreachable in the waiting room", 15*time.Second,
		inWaitingRoom(rowShows("Refusing Endpoint", "unreachable")))

	c.pane.keys("Down")
	// Enter calls again once the help line offers it: for a moment after
	// the waiting room came back by itself it does not, so that an Enter
	// meant for the ended screen calls no one.
	c.waitScreen(t, "the dead patient selected and callable", 5*time.Second, func(s string) bool {
		return strings.Contains(s, "> Dead Endpoint") && strings.Contains(s, "enter call patient")
	})
	c.pane.keys("Enter")
	took = c.waitFor(t, "Ended: patient unreachable", 30*time.Second)
	t.Logf("FIGURE dead endpoint shown unreachable %v after the call", took.Round(100*time.Millisecond))
	c.waitScreen(t, "the dead patient as unreachable in the waiting room", 15*time.Second,
		inWaitingRoom(rowShows("Dead Endpoint", "unreachable")))
}

// TestFaultConsoleRestart: the console is killed (SIGKILL: no BYE, no
// goodbye) mid-call and started again; the patients show up again as they
// READY again, and the doctor can call them.
func TestFaultConsoleRestart(t *testing.T) {
	t.Parallel()
	l := newNetLab(t)
	c, p := startLabCall(t, l, nil, []string{"--rejoin"})
	pid := c.pid(t)
	if err := exec.Command("kill", "-KILL", pid).Run(); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	c.waitFor(t, "exit status 137", 5*time.Second)
	// A second patient arrives while the console is down: its READYs fail
	// and it keeps trying.
	l.startPatient(t, "Asha Devi Kulkarni", "ashakulkarni@sbx", "8905")
	time.Sleep(time.Second)

	c2 := l.startConsole(t)
	t.Logf("console restarted %v after it was killed", time.Since(killedAt).Round(100*time.Millisecond))
	back := c2.waitFor(t, "Asha Devi Kulkarni", 15*time.Second)
	t.Logf("FIGURE waiting patient listed again %v after the restart", back.Round(100*time.Millisecond))
	// The patient who was in the call notices it is lost, then READYs again.
	back = c2.waitFor(t, "Manish Pravin Kahane", 30*time.Second)
	t.Logf("FIGURE patient of the killed call listed again %v after the kill", time.Since(killedAt).Round(100*time.Millisecond))
	p.waitSaw(t, "call Ended: connection lost", time.Second)
	_ = back
	// The new console can call them.
	c2.pane.keys("Enter")
	c2.waitFor(t, "Connected", 20*time.Second)
	c2.pane.keys("e")
	c2.waitFor(t, "Ended: ended by doctor", 10*time.Second)
}

// TestFaultReadyFlood: 1,000 patients each READY once a second for 30 s
// (30,000 requests, from namespace A's own loopback, so the flood does not
// crowd the link). During the flood a real patient, who arrived before it,
// is called and connects; the endpoint answers every request quickly; the
// console's memory stays bounded. The waiting room holds 256 patients
// (waitingroom.DefaultCapacity), the real one among them: it takes the
// first 255 flood patients, whose READYs are ACKed and get their ACK
// signal, and refuses the other 745 at once with a 503 naming the full
// room, every time they READY.
func TestFaultReadyFlood(t *testing.T) {
	t.Parallel()
	l := newNetLab(t)
	c := l.startConsole(t)
	p := l.startPatient(t, "Manish Pravin Kahane", "manishkahane1992@sbx", "8902")
	c.waitFor(t, "Manish Pravin Kahane", 15*time.Second)
	p.waitSaw(t, "ACK received", 10*time.Second)
	pid, _ := strconv.Atoi(c.pid(t))
	before, err := rssKB(pid)
	if err != nil {
		t.Fatal(err)
	}

	// The flood patients' consumer_uri: a sink in namespace A that ACKs the
	// console's ACKs.
	var acksIn atomic.Int64
	var ackedMu sync.Mutex
	acked := map[string]int{} // ACK signals by the patient they are for
	sink := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		acksIn.Add(1)
		if in, err := uhiclient.Decode(body); err == nil {
			ackedMu.Lock()
			acked[strings.ToLower(in.Receiver)]++
			ackedMu.Unlock()
		}
		_, _ = io.WriteString(w, `{"message":{"ack":{"status":"ACK"}}}`)
	})}
	sinkLn := l.listen(l.a, "127.0.0.1:9100")
	go func() { _ = sink.Serve(sinkLn) }()
	t.Cleanup(func() { sink.Close() })

	const patients, seconds, workers = 1000, 30, 64
	builders := make([]*uhiclient.Builder, patients)
	for i := range builders {
		abha := fmt.Sprintf("flood%04d@sbx", i)
		builders[i], err = uhiclient.NewBuilder(uhiclient.Identity{
			Self: uhiclient.Person{Name: "Flood " + strconv.Itoa(i), Cred: abha}, Peer: uhiclient.Person{Cred: testDoctor},
			ConsumerID: "flood", ConsumerURI: "http://127.0.0.1:9100/api/v1",
			ProviderURI: c.uri, TransactionID: "t-" + abha,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	hc := l.httpClient(l.a, workers)
	target := "http://127.0.0.1:" + labConsolePort + "/api/v1/on_message"
	type result struct {
		took     time.Duration
		status   int
		patient  int
		roomFull bool   // a 503 because the room is full, not the queue
		other    string // the reply of any other NACK
	}
	jobs := make(chan int, patients)
	results := make(chan result, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				env, err := builders[i].Ready()
				if err != nil {
					results <- result{status: -1, patient: i}
					continue
				}
				body, _ := uhiclient.Marshal(env)
				start := time.Now()
				resp, err := hc.Post(target, "application/json", strings.NewReader(string(body)))
				r := result{took: time.Since(start), status: -1, patient: i}
				if err == nil {
					reply, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
					resp.Body.Close()
					r.status = resp.StatusCode
					r.roomFull = r.status == http.StatusServiceUnavailable &&
						bytes.Contains(reply, []byte(waitingroom.ErrRoomFull.Error()))
					if r.status != http.StatusOK && !r.roomFull {
						r.other = string(reply)
					}
				} else {
					r.other = err.Error()
				}
				results <- r
			}
		})
	}
	var lat []time.Duration
	statuses := map[int]int{}
	var roomFull int
	others := map[string]int{} // any other answer, by its text
	admitted := map[int]bool{} // flood patients whose READY was ACKed
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for r := range results {
			lat = append(lat, r.took)
			statuses[r.status]++
			if r.roomFull {
				roomFull++
			}
			if r.other != "" && len(others) < 10 {
				others[r.other]++
			}
			if r.status == http.StatusOK {
				admitted[r.patient] = true
			}
		}
	}()
	// RSS, sampled while the flood runs.
	var peak atomic.Int64
	stopRSS := make(chan struct{})
	rssDone := make(chan struct{})
	go func() {
		defer close(rssDone)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopRSS:
				return
			case <-tick.C:
				if kb, err := rssKB(pid); err == nil && int64(kb) > peak.Load() {
					peak.Store(int64(kb))
				}
			}
		}
	}()

	start := time.Now()
	called := make(chan error, 1)
	go func() {
		// Ten seconds into the flood the doctor calls the real patient.
		time.Sleep(10 * time.Second)
		c.pane.keys("Enter")
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if strings.Contains(c.pane.capture(), "Connected") {
				called <- nil
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		called <- fmt.Errorf("the call to the real patient never connected during the flood")
	}()
	for k := range patients * seconds {
		if d := time.Until(start.Add(time.Duration(k) * time.Second / patients)); d > 0 {
			time.Sleep(d)
		}
		jobs <- k % patients
	}
	close(jobs)
	wg.Wait()
	close(results)
	<-collected
	floodTook := time.Since(start)
	close(stopRSS)
	<-rssDone
	if err := <-called; err != nil {
		t.Fatal(err)
	}
	after, _ := rssKB(pid)

	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	t.Logf("FIGURE flood: %d READYs in %v (%d patients, 1/s each); statuses %v (503 room full: %d); %d patients admitted; p50 %v, p99 %v, max %v; ACKs delivered to the flood sink %d",
		len(lat), floodTook.Round(100*time.Millisecond), patients, statuses, roomFull, len(admitted), p50.Round(100*time.Microsecond), p99.Round(100*time.Microsecond), lat[len(lat)-1].Round(time.Millisecond), acksIn.Load())
	t.Logf("FIGURE console RSS: %d MB before the flood, %d MB peak during it (with a call), %d MB after", before/1024, peak.Load()/1024, after/1024)
	// Each READY is answered for what it is: ACK when the room has the
	// patient, a NACK naming the full room when it has not. Anything else
	// (a 503 "queue full", which senders retry, or no answer) is the
	// endpoint falling behind.
	// No READY goes unanswered or gets anything but those two or a 503
	// "queue full". The queue full NACKs are counted: 8 to 200 of 30,000
	// on a loaded two-core machine (the console's inbound loop falling
	// behind; the patients' app retries them); the bound, 2%, is three
	// times the most seen, and a fifth of the 10% the check allowed before.
	queueFull := statuses[http.StatusServiceUnavailable] - roomFull
	if answered := statuses[http.StatusOK] + statuses[http.StatusServiceUnavailable]; answered != len(lat) {
		t.Errorf("%d of %d READYs were ACKed or NACKed 503: %v (-1: no answer); the others: %v", answered, len(lat), statuses, others)
	}
	t.Logf("FIGURE flood: %d READYs NACKed \"queue full\" (%v)", queueFull, others)
	if queueFull > len(lat)/50 {
		t.Errorf("%d of %d READYs NACKed queue full, want under 2%%: %v", queueFull, len(lat), others)
	}
	if want := waitingroom.DefaultCapacity - 1; len(admitted) != want {
		t.Errorf("%d flood patients were admitted to the room; want %d (its capacity, less the real patient)", len(admitted), want)
	}
	// Every patient admitted got its ACK signal, counted per patient.
	ackedMu.Lock()
	var unacked []int
	for i := range admitted {
		if acked[fmt.Sprintf("flood%04d@sbx", i)] == 0 {
			unacked = append(unacked, i)
		}
	}
	ackedMu.Unlock()
	if len(unacked) > 0 {
		slices.Sort(unacked)
		t.Errorf("%d of %d patients admitted got no ACK signal (%d in all reached the sink): %v", len(unacked), len(admitted), acksIn.Load(), unacked)
	}
	if p99 > time.Second {
		t.Errorf("endpoint p99 %v under the flood; want under 1 s", p99)
	}
	if peak.Load() > 300*1024 {
		t.Errorf("console RSS peaked at %d MB under the flood; want under 300 MB", peak.Load()/1024)
	}
	c.pane.keys("e")
	c.waitFor(t, "Ended: ended by doctor", 10*time.Second)
}

// TestFaultBadRequestsChangeNothing: with signatures checked, oversized,
// malformed, forged, tampered, expired (replayed), unsigned and misaddressed
// requests to the real console each get a NACK and leave the waiting room as
// it was; a good request still gets through after them.
func TestFaultBadRequestsChangeNothing(t *testing.T) {
	t.Parallel()
	l := newNetLab(t)
	pub, priv, err := uhiclient.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, otherPriv, _ := uhiclient.GenerateKey(rand.Reader)
	pubB64, _ := uhiclient.EncodePublicKey(pub)
	ring, _ := json.Marshal(map[string]string{"eua-test|k1|ed25519": pubB64})
	ringPath := filepath.Join(t.TempDir(), "keyring.json")
	if err := os.WriteFile(ringPath, ring, 0o600); err != nil {
		t.Fatal(err)
	}
	c := l.startConsole(t, "--verify", "keyring:"+ringPath)
	hc := l.httpClient(l.b, 4)
	signer, _ := uhiclient.NewSigner(priv, "eua-test", "k1")
	forger, _ := uhiclient.NewSigner(otherPriv, "eua-test", "k1") // the right keyId, the wrong key
	target := c.uri + "/on_message"

	ready := func(name, abha, to string) []byte {
		b, err := uhiclient.NewBuilder(uhiclient.Identity{
			Self: uhiclient.Person{Name: name, Cred: abha}, Peer: uhiclient.Person{Cred: to},
			ConsumerID: "eua-test", ConsumerURI: "http://" + labAddrB + ":8999/api/v1", ProviderURI: c.uri, TransactionID: "t-" + abha,
		})
		if err != nil {
			t.Fatal(err)
		}
		env, _ := b.Ready()
		body, _ := uhiclient.Marshal(env)
		return body
	}
	post := func(body []byte, auth string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		defer resp.Body.Close()
		reply, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(reply)
	}

	good := ready("Legit Patient", "legit@sbx", testDoctor)
	if status, reply := post(good, signer.Sign(good)); status != http.StatusOK || strings.Contains(reply, "NACK") {
		t.Fatalf("a good signed READY got %d %s", status, reply)
	}
	c.waitFor(t, "Legit Patient", 10*time.Second)
	roomBefore := waitingRows(c.pane.capture())

	// Over the endpoint's limit, which leaves room for a chat attachment
	// of the reference apps' 5 MB.
	big := append(ready("Intruder Big", "intruder0@sbx", testDoctor)[:0:0], bytes.Repeat([]byte(" "), int(uhiclient.MediaBodyLimit)+1<<20)...)
	big = append(big, ready("Intruder Big", "intruder0@sbx", testDoctor)...)
	malformed := []byte(`{"context":{"action":"on_message"},"message":{"intent":{"chat":`)
	forged := ready("Intruder Forged", "intruder1@sbx", testDoctor)
	tampered := ready("Intruder Tampered", "intruder2@sbx", testDoctor)
	tamperedAuth := signer.Sign(good) // a real signature, of another body
	expired := ready("Intruder Replayed", "intruder3@sbx", testDoctor)
	misaddressed := ready("Intruder Misaddressed", "intruder4@sbx", "someoneelse@hpr.ndhm")
	unsigned := ready("Intruder Unsigned", "intruder5@sbx", testDoctor)
	cases := []struct {
		name   string
		body   []byte
		auth   string
		status int
	}{
		{"oversized (limit + 1 MiB)", big, signer.Sign(big), http.StatusRequestEntityTooLarge},
		{"malformed JSON", malformed, signer.Sign(malformed), http.StatusBadRequest},
		{"forged signature", forged, forger.Sign(forged), http.StatusUnauthorized},
		{"tampered body", tampered, tamperedAuth, http.StatusUnauthorized},
		{"replayed, expired", expired, signer.SignAt(expired, time.Now().Add(-2*time.Minute)).String(), http.StatusUnauthorized},
		{"misaddressed", misaddressed, signer.Sign(misaddressed), http.StatusBadRequest},
		{"unsigned", unsigned, "", http.StatusUnauthorized},
	}
	for _, tc := range cases {
		status, reply := post(tc.body, tc.auth)
		if status != tc.status || !strings.Contains(reply, `"NACK"`) {
			t.Errorf("%s: got HTTP %d %.200s; want %d with a NACK", tc.name, status, reply, tc.status)
		} else {
			t.Logf("%s: HTTP %d NACK %.160s", tc.name, status, reply)
		}
	}
	// Nothing changed, and the endpoint still takes good requests.
	good2 := ready("Second Legit", "legit2@sbx", testDoctor)
	if status, reply := post(good2, signer.Sign(good2)); status != http.StatusOK || strings.Contains(reply, "NACK") {
		t.Fatalf("a good READY after the bad ones got %d %s", status, reply)
	}
	c.waitFor(t, "Second Legit", 10*time.Second)
	screen := c.pane.capture()
	if strings.Contains(screen, "Intruder") {
		t.Fatalf("a refused request reached the waiting room:\n%s", screen)
	}
	roomAfter := waitingRows(screen)
	if len(roomAfter) != len(roomBefore)+1 {
		t.Fatalf("waiting room went from %d to %d rows; want only the second good patient added:\n%s", len(roomBefore), len(roomAfter), screen)
	}
}

// waitingRows returns the screen lines that list a patient (an ABHA address).
func waitingRows(screen string) []string {
	var rows []string
	for _, line := range strings.Split(screen, "\n") {
		if strings.Contains(line, "@sbx") {
			rows = append(rows, line)
		}
	}
	return rows
}

// TestFaultSlowClients: many connections dribbling their headers a byte at
// a time (slowloris) and half-open ones that stop mid-body cannot pin the
// endpoint: a normal request gets through during the attack, and the
// server's timeouts close the slow connections.
func TestFaultSlowClients(t *testing.T) {
	t.Parallel()
	l := newNetLab(t)
	c := l.startConsole(t)
	addr := "127.0.0.1:" + labConsolePort
	const slow, halfOpen = 200, 50
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type conn struct {
		net.Conn
		header bool
	}
	var conns []conn
	for i := range slow + halfOpen {
		nc, err := l.dial(ctx, l.a, addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		t.Cleanup(func() { nc.Close() })
		if i < slow {
			_, _ = io.WriteString(nc, "POST /api/v1/on_message HTTP/1.1\r\nHost: console\r\n")
			conns = append(conns, conn{nc, true})
		} else {
			_, _ = io.WriteString(nc, "POST /api/v1/on_message HTTP/1.1\r\nHost: console\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"context\":")
			conns = append(conns, conn{nc, false})
		}
	}
	// Dribble: one header byte per connection every 500 ms.
	var dribbling sync.WaitGroup
	for _, cn := range conns {
		if !cn.header {
			continue
		}
		dribbling.Go(func() {
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					if _, err := cn.Write([]byte("X")); err != nil {
						return
					}
				}
			}
		})
	}
	t.Logf("%d slow-header and %d half-open connections open", slow, halfOpen)

	hc := l.httpClient(l.b, 1)
	probe := func() time.Duration {
		env := readyEnvelope(t, c, "Probe Patient", "probe@sbx")
		start := time.Now()
		resp, err := hc.Post(c.uri+"/on_message", "application/json", bytes.NewReader(env))
		if err != nil {
			t.Fatalf("a normal request failed during the attack: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("a normal request got HTTP %d during the attack", resp.StatusCode)
		}
		return time.Since(start)
	}
	time.Sleep(time.Second)
	if took := probe(); took > time.Second {
		t.Errorf("a normal request took %v during the attack", took)
	} else {
		t.Logf("FIGURE normal request during the attack answered in %v", took.Round(100*time.Microsecond))
	}
	c.waitFor(t, "Probe Patient", 5*time.Second)

	// The server closes them: header dribblers after ReadHeaderTimeout (5 s),
	// half-open bodies after ReadTimeout (20 s).
	closedWithin := func(cn net.Conn, d time.Duration) bool {
		_ = cn.SetReadDeadline(time.Now().Add(d))
		buf := make([]byte, 512)
		for {
			_, err := cn.Read(buf)
			if err == nil {
				continue // a 408 or 400 reply before the close
			}
			var ne net.Error
			return !(errors.As(err, &ne) && ne.Timeout())
		}
	}
	start := time.Now()
	var open atomic.Int64
	var check sync.WaitGroup
	for _, cn := range conns {
		check.Go(func() {
			limit := 10 * time.Second
			if !cn.header {
				limit = 25 * time.Second
			}
			if !closedWithin(cn, limit-time.Since(start)) {
				open.Add(1)
			}
		})
	}
	check.Wait()
	cancel()
	dribbling.Wait()
	if n := open.Load(); n > 0 {
		t.Fatalf("%d slow connections were still open after the server's timeouts", n)
	}
	t.Logf("FIGURE all %d slow connections closed by the server within %v", len(conns), time.Since(start).Round(100*time.Millisecond))
	if took := probe(); took > time.Second {
		t.Errorf("a normal request took %v after the attack", took)
	}
}

// readyEnvelope is an unsigned READY to the console, as bytes.
func readyEnvelope(t *testing.T, c *labConsole, name, abha string) []byte {
	t.Helper()
	return uhitest.ReadyBody(t, uhiclient.Identity{
		Self: uhiclient.Person{Name: name, Cred: abha}, Peer: uhiclient.Person{Cred: testDoctor},
		ConsumerID: "probe", ConsumerURI: "http://" + labAddrB + ":8999/api/v1", ProviderURI: c.uri, TransactionID: "t-" + abha,
	})
}
