package app

import (
	"testing"
	"time"

	"teleconsole/call"
	"teleconsole/record"
)

// TestCallMeterQuality: the record's quality summary from a call's events
// as the session sends them: RTT median and worst of the samples, the
// time spent audio-only, and the times the connection came back, with a
// reconnection before the first connection not counted.
func TestCallMeterQuality(t *testing.T) {
	t0 := time.Unix(1796166760, 0)
	m := &callMeter{dialled: t0}
	m.state(call.StateEvent{State: call.StateConnecting}, t0.Add(100*time.Millisecond))
	m.state(call.StateEvent{State: call.StateReconnecting}, t0.Add(150*time.Millisecond)) // before connecting: no reconnect
	m.state(call.StateEvent{State: call.StateConnected}, t0.Add(300*time.Millisecond))
	// Samples a second apart: RTTs 40, 20, 900, 30, 0 (none), 50 ms; video
	// paused from the 3rd sample to the 5th.
	for i, s := range []struct {
		rtt       time.Duration
		audioOnly bool
	}{{40, false}, {20, false}, {900, true}, {30, true}, {0, true}, {50, false}} {
		m.stats(call.Stats{At: t0.Add(time.Duration(i+1) * time.Second), RTT: s.rtt * time.Millisecond,
			AudioOnly: s.audioOnly, LossPercent: float64(i), BitrateIn: 1000 * (i + 1), BitrateOut: 500})
		if i == 3 {
			m.state(call.StateEvent{State: call.StateReconnecting}, t0.Add(4500*time.Millisecond))
			m.state(call.StateEvent{State: call.StateConnected}, t0.Add(4700*time.Millisecond))
		}
	}
	m.state(call.StateEvent{State: call.StateReconnecting}, t0.Add(6500*time.Millisecond))
	m.state(call.StateEvent{State: call.StateConnected}, t0.Add(6600*time.Millisecond))
	got := m.quality()
	want := record.Quality{Setup: 300 * time.Millisecond, RTTMedian: 40 * time.Millisecond, RTTWorst: 900 * time.Millisecond,
		LossPercent: 2.5, BitrateIn: 3500, BitrateOut: 500, AudioOnly: 3 * time.Second, Reconnects: 2}
	if got != want {
		t.Errorf("quality %+v\nwant    %+v", got, want)
	}
	if l := m.length(t0.Add(10 * time.Second)); l != 9700*time.Millisecond {
		t.Errorf("length %v, want 9.7s from the first connection", l)
	}
}
