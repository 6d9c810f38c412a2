package systest

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The real terminal: tmux runs the console in a pane of a fixed size, so the
// tests type keys and read the screen as a doctor would, with no TTY of
// their own (CI has none).

// tmuxPane is one tmux session running a program in a fixed-size terminal.
type tmuxPane struct {
	t      testing.TB
	name   string
	socket string // each pane has its own tmux server
}

func startTmux(t testing.TB, width, height int, env []string, argv ...string) *tmuxPane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("tmux is needed for the end-to-end test (make deps installs it): %v", err)
	}
	name := "e2e"
	socket := fmt.Sprintf("teleconsole-%d-%s-%d", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
	args := []string{"-L", socket, "new-session", "-d", "-s", name, "-x", fmt.Sprint(width), "-y", fmt.Sprint(height)}
	// Each program keeps what it keeps (the record, snapshots, the chat
	// key) in a directory of the test's own, never the user's, and two
	// consoles of one test never share one; env may name another.
	args = append(args, "-e", "XDG_DATA_HOME="+t.TempDir())
	for _, e := range env {
		args = append(args, "-e", e)
	}
	// Keep the pane after the program exits so a crash can still be read.
	args = append(args, strings.Join(quoteAll(argv), " ")+`; echo "exit status $?"; sleep 30`)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	p := &tmuxPane{t: t, name: name, socket: socket}
	t.Cleanup(func() { _ = p.tmux("kill-server").Run() })
	return p
}

func quoteAll(argv []string) []string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return q
}

// tmux returns a tmux command aimed at the pane's own server.
func (p *tmuxPane) tmux(args ...string) *exec.Cmd {
	return exec.Command("tmux", append([]string{"-L", p.socket}, args...)...)
}

func (p *tmuxPane) capture() string {
	out, err := p.tmux("capture-pane", "-p", "-t", p.name).Output()
	if err != nil {
		p.t.Fatalf("tmux capture-pane: %v", err)
	}
	return string(out)
}

// captureStyled is capture with the cells' colours, as SGR sequences.
func (p *tmuxPane) captureStyled() string {
	out, err := p.tmux("capture-pane", "-p", "-e", "-t", p.name).Output()
	if err != nil {
		p.t.Fatalf("tmux capture-pane -e: %v", err)
	}
	return string(out)
}

func (p *tmuxPane) keys(keys ...string) {
	p.t.Helper()
	args := append([]string{"send-keys", "-t", p.name}, keys...)
	if out, err := p.tmux(args...).CombinedOutput(); err != nil {
		p.t.Fatalf("tmux send-keys %v: %v: %s", keys, err, out)
	}
}

// waitFor polls the screen until it contains want, and fails with the last
// screen and the log when it does not within d.
func (p *tmuxPane) waitFor(want string, d time.Duration, logPath string) string {
	p.t.Helper()
	deadline := time.Now().Add(d)
	var screen string
	for time.Now().Before(deadline) {
		screen = p.capture()
		if strings.Contains(screen, want) {
			return screen
		}
		time.Sleep(100 * time.Millisecond)
	}
	logText, _ := os.ReadFile(logPath)
	p.t.Fatalf("screen never showed %q within %v; last screen:\n%s\nconsole log tail:\n%s", want, d, screen, tail(string(logText), 40))
	return ""
}

// endConsoleCall hangs up on the console and goes back to the waiting room
// at once (Escape: an Enter that came after the screen had gone back by
// itself would call the selected patient).
func endConsoleCall(pane *tmuxPane, logPath string) {
	time.Sleep(300 * time.Millisecond)
	pane.keys("e")
	pane.waitFor("Ended", 10*time.Second, logPath)
	pane.keys("Escape")
	pane.waitFor("Waiting room (", 10*time.Second, logPath)
}

// waitRow waits until the waiting room lists name in state.
func waitRow(b testing.TB, pane *tmuxPane, name, state, logPath string) {
	b.Helper()
	deadline := time.Now().Add(15 * time.Second)
	listed := inWaitingRoom(rowShows(name, " "+state+" "))
	for time.Now().Before(deadline) {
		if listed(pane.capture()) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	logText, _ := os.ReadFile(logPath)
	b.Fatalf("the waiting room never listed %s as %s; screen:\n%s\nlog tail:\n%s", name, state, pane.capture(), tail(string(logText), 30))
}

// consolePID is the teleconsole process under the pane's shell.
func consolePID(b testing.TB, pane *tmuxPane) int {
	out, err := pane.tmux("list-panes", "-t", pane.name, "-F", "#{pane_pid}").Output()
	if err != nil {
		b.Fatal(err)
	}
	shell, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	for _, pid := range descendants(shell) {
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "teleconsole" {
			return pid
		}
	}
	b.Fatalf("no teleconsole process under the pane's shell %d", shell)
	return 0
}

func tmuxServerPID(b testing.TB, pane *tmuxPane) int {
	out, err := pane.tmux("display-message", "-p", "#{pid}").Output()
	if err != nil {
		b.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		b.Fatal(err)
	}
	return pid
}

// rowShows says whether a line of the screen shows both name and state,
// leaving out the waiting room's line on the last call, which has them too.
func rowShows(name, state string) func(string) bool {
	return func(s string) bool {
		for _, line := range strings.Split(s, "\n") {
			if strings.Contains(line, name) && strings.Contains(line, state) && !strings.Contains(line, "Last call:") {
				return true
			}
		}
		return false
	}
}

// inWaitingRoom is cond on the waiting room screen only: the call screen's
// header also has the patient's name beside the reason the call ended.
func inWaitingRoom(cond func(string) bool) func(string) bool {
	return func(s string) bool { return strings.Contains(s, "Waiting room (") && cond(s) }
}
