package call

import (
	"strings"
	"testing"
	"time"
)

// feed gives the adapter n identical samples and returns the rung after.
func feed(a *adapter, n int, s linkSample) videoLevel {
	for range n {
		a.step(s, time.Second)
	}
	return a.level
}

func TestAdapterSlowLossyLinkLowersVideoNotAudio(t *testing.T) {
	a := newAdapter(false)
	slow := linkSample{target: 250_000, loss: 0.02, rtt: 150 * time.Millisecond}
	if got := feed(a, 1, slow); got != levelFull {
		t.Fatalf("one sample moved the rung to %v: no hysteresis", got)
	}
	if got := feed(a, 1, slow); got != levelReduced {
		t.Fatalf("a 250 kbit/s link gives %v, want reduced", got)
	}
	if !strings.Contains(a.note, "lowered video") {
		t.Fatalf("note %q does not say why", a.note)
	}
	if got := feed(a, 10, linkSample{target: 150_000, loss: 0.02, rtt: 150 * time.Millisecond}); got != levelLean {
		t.Fatalf("a 150 kbit/s link gives %v, want lean", got)
	}
	if got := feed(a, 1, linkSample{target: 150_000, loss: 0.15, rtt: 150 * time.Millisecond}); got != levelLean {
		t.Fatalf("a burst of 15%% loss gave %v", got)
	}
	if got := feed(a, 30, linkSample{target: 150_000, loss: 0.02, rtt: 150 * time.Millisecond}); got != levelLean {
		t.Fatalf("a steady 150 kbit/s link went to %v: 2%% loss is not a reason for audio only", got)
	}
}

func TestAdapterFallsBackToAudioOnlyAndComesBack(t *testing.T) {
	a := newAdapter(false)
	overrun := linkSample{target: 100_000, loss: 0.4, rtt: 1500 * time.Millisecond}
	if got := feed(a, 6, overrun); got != levelLean {
		t.Fatalf("an overrun link gives %v after 6 s, want lean on the way down", got)
	}
	if got := feed(a, 1, overrun); got != levelAudioOnly {
		t.Fatalf("an overrun link gives %v after 7 s, want audio only", got)
	}
	if !strings.Contains(a.note, "audio only") {
		t.Fatalf("note %q", a.note)
	}
	if got := feed(a, 30, overrun); got != levelAudioOnly {
		t.Fatalf("video was tried on a link still overrun: %v", got)
	}
	quiet := linkSample{target: 100_000, loss: 0, rtt: 100 * time.Millisecond}
	if got := feed(a, 9, quiet); got != levelAudioOnly {
		t.Fatalf("video tried after 9 quiet seconds: %v", got)
	}
	if got := feed(a, 1, quiet); got != levelLean {
		t.Fatalf("after 10 quiet seconds: %v, want a try at lean video", got)
	}
	// The try fails: back to audio only, and the next try waits twice as long.
	if got := feed(a, 1, overrun); got != levelAudioOnly {
		t.Fatalf("failed try gives %v", got)
	}
	if got := feed(a, 19, quiet); got != levelAudioOnly {
		t.Fatalf("retried before the doubled wait: %v", got)
	}
	if got := feed(a, 1, quiet); got != levelLean {
		t.Fatalf("no retry after the doubled wait: %v", got)
	}
	// The link recovered: the try holds, then video climbs back, slowly.
	fast := linkSample{target: 1_200_000, loss: 0, rtt: 50 * time.Millisecond}
	if got := feed(a, 6, fast); got != levelLean {
		t.Fatalf("rung %v during the try", got)
	}
	if got := feed(a, 8, fast); got != levelReduced {
		t.Fatalf("rung %v after the try held and 8 good seconds, want reduced", got)
	}
	if got := feed(a, 8, fast); got != levelFull {
		t.Fatalf("rung %v, want full", got)
	}
	if a.note != "" {
		t.Fatalf("note %q at full video", a.note)
	}
}

func TestAdapterLowBandwidthMode(t *testing.T) {
	a := newAdapter(true)
	if a.level != levelLean || a.note == "" {
		t.Fatalf("low-bandwidth mode starts at %v with note %q", a.level, a.note)
	}
	if got := feed(a, 60, linkSample{target: 2_000_000, rtt: 20 * time.Millisecond}); got != levelReduced {
		t.Fatalf("low-bandwidth mode on a fast link reached %v, want at most reduced", got)
	}
}
