package ui

import (
	"testing"
	"time"

	"teleconsole/call"
)

// TestRemoteTerminalPictureKeptToBudget: the picture the model makes for a
// terminal reached over SSH keeps to --video-budget (the written bytes,
// pictures and text, within it over 10 s of frames offered at ten a
// second), and one on a local terminal has no budget: the model passes the
// budget to its picture only for a remote terminal.
func TestRemoteTerminalPictureKeptToBudget(t *testing.T) {
	const budget = 60_000
	run := func(remote bool) (rate float64, sent int) {
		var written uint64
		m := New(newFake(&recorder{}, make(chan call.Event)), Info{Media: "synthetic"}, WithClock(func() time.Time { return testNow }),
			WithTerminal(Terminal{Remote: remote, Written: func() uint64 { return written }}), WithVideoBudget(budget))
		m.cellW, m.cellH = 10, 20
		p := m.newPicture(GraphicsSixel)
		p.surf.place(320, 240, 1, 4, 60, 20, 2)
		p.settle = false
		pic := testPicture()
		now, total := testNow, 0
		for range 100 {
			now = now.Add(100 * time.Millisecond)
			out := p.frame(pic, now)
			written += uint64(len(out)) + 500 // and the screen's text
			total += len(out) + 500
			if out != nil {
				sent++
			}
		}
		return float64(total) / 10, sent
	}
	rate, sent := run(true)
	t.Logf("over SSH: %d pictures, %.0f B/s, budget %d", sent, rate, budget)
	if rate > budget*1.05 || sent == 0 {
		t.Errorf("over SSH: %.0f B/s written in %d pictures, budget %d B/s", rate, sent, budget)
	}
	local, localSent := run(false)
	t.Logf("local: %d pictures, %.0f B/s", localSent, local)
	if local < 2*budget {
		t.Errorf("a local terminal's pictures kept to %.0f B/s: the budget is for SSH only", local)
	}
}
