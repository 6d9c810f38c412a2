package ui

import (
	"image"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"teleconsole/call"
)

// countingWriter counts the bytes written to the "terminal".
type countingWriter struct{ n atomic.Int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return len(p), nil
}

// liveFake is a console in a call: the call connects at once, a stats
// sample comes every second, and the patient's video is a moving synthetic
// picture at 30 fps.
type liveFake struct {
	*fakeConsole
	events chan call.Event
	frame  atomic.Pointer[image.RGBA]
	seq    atomic.Uint64
	noise  bool
	stop   chan struct{}
	wg     sync.WaitGroup
}

func newLiveFake(noise bool) *liveFake {
	f := &liveFake{events: make(chan call.Event, 64), stop: make(chan struct{}), noise: noise}
	f.fakeConsole = newFake(&recorder{}, f.events)
	f.CallFn = func(a string) error {
		for _, s := range []call.State{call.StateCalling, call.StateConnecting, call.StateConnected} {
			f.events <- call.StateEvent{Peer: a, State: s}
		}
		f.wg.Add(2)
		go f.run(a)
		go f.camera()
		return nil
	}
	f.FrameFn = func() (*image.RGBA, uint64) { return f.frame.Load(), f.seq.Load() }
	return f
}

func (f *liveFake) run(peer string) {
	defer f.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-f.stop:
			return
		case <-t.C:
			select {
			case f.events <- call.StatsEvent{Peer: peer, Stats: connectedStats(i)}:
			default:
			}
		}
	}
}

func (f *liveFake) camera() {
	defer f.wg.Done()
	t := time.NewTicker(time.Second / 30)
	defer t.Stop()
	for phase := 0; ; phase++ {
		select {
		case <-f.stop:
			return
		case <-t.C:
			img := testFrame(320, 240, phase)
			if f.noise {
				addNoise(img, phase)
			}
			f.frame.Store(img)
			f.seq.Add(1)
		}
	}
}

// addNoise adds camera-like noise of up to +-12 to every channel.
func addNoise(img *image.RGBA, seed int) {
	x := uint32(seed)*2654435761 + 1
	for i := range img.Pix {
		if i%4 == 3 {
			continue
		}
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		v := int(img.Pix[i]) + int(x%25) - 12
		img.Pix[i] = uint8(min(255, max(0, v)))
	}
}

func (f *liveFake) close() {
	close(f.stop)
	f.wg.Wait()
}

// BenchmarkTerminalBytes measures the bytes a real program writes to an
// 80x24 terminal per second on the call screen, with the patient's video
// hidden and shown (and shown with a noisy picture, as from a real camera),
// over 5 s after the call has settled.
func BenchmarkTerminalBytes(b *testing.B) {
	for _, tc := range []struct {
		name  string
		opts  []Option
		noise bool
	}{
		{"video_off", []Option{WithVideoHidden()}, false},
		{"video_on", nil, false},
		{"video_on_noisy", nil, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var total float64
			for range b.N {
				total += terminalBytesPerSecond(b, tc.opts, tc.noise, 5*time.Second)
			}
			b.ReportMetric(total/float64(b.N), "B/s")
		})
	}
}

func terminalBytesPerSecond(b *testing.B, opts []Option, noise bool, span time.Duration) float64 {
	f := newLiveFake(noise)
	defer f.close()
	out := &countingWriter{}
	m := New(f, Info{Endpoint: "127.0.0.1:8080", Doctor: "dr.kavya@hpr", Verify: "signatures verified", Media: "synthetic"}, opts...)
	p := tea.NewProgram(m, tea.WithInput(nil), tea.WithOutput(out), tea.WithWindowSize(80, 24),
		tea.WithColorProfile(colorprofile.ANSI256), tea.WithoutSignals())
	done := make(chan error, 1)
	go func() {
		_, err := p.Run()
		done <- err
	}()
	time.Sleep(300 * time.Millisecond) // the waiting room is read
	p.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	time.Sleep(1500 * time.Millisecond) // connected, first stats and frames drawn
	start, t0 := out.n.Load(), time.Now()
	time.Sleep(span)
	n, el := out.n.Load()-start, time.Since(t0)
	p.Quit()
	if err := <-done; err != nil {
		b.Fatalf("program: %v", err)
	}
	return float64(n) / el.Seconds()
}

// BenchmarkCallFrame measures what the console spends on each frame of the
// patient's video it shows (10 a second in a call): the frame drawn in half
// blocks, and the whole call screen's View, at 80x24 and 120x40.
func BenchmarkCallFrame(b *testing.B) {
	frames := make([]*image.RGBA, 30)
	for i := range frames {
		frames[i] = testFrame(320, 240, 3*i)
	}
	for _, sz := range sizes {
		b.Run(sizeName("call", sz.w, sz.h), func(b *testing.B) {
			m := connected(b, sz.w, sz.h, true)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				m, _ = update(b, m, frameMsg{call: m.call.id, gen: m.call.gen, img: frames[i%len(frames)], seq: uint64(i + 8)})
				if m.View().Content == "" {
					b.Fatal("empty view")
				}
			}
		})
	}
}
