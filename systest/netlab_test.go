//go:build linux

package systest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/stdnet"
	"golang.org/x/sys/unix"
)

// The fault test bed: two network namespaces, the console's (A)
// and the patient's (B), joined by a point-to-point link whose shape the
// test sets: rate, one-way delay, random loss, queue limit, or a cut.
//
// The link is a TUN device in each namespace with this process relaying IP
// packets between them, a userspace netem. The kernel this project's CI
// runs on has no sch_netem (CONFIG_NET_SCH_NETEM is not set, so
// `tc qdisc ... netem` fails with "Specified qdisc kind is unknown"), and no
// other in-kernel qdisc adds delay; TUN and network namespaces are there.
// The relay models what netem's rate, delay, loss and limit do: a packet
// waits for the link to be free (serialisation at the rate), is tail-dropped
// when that wait exceeds the queue limit, and arrives one delay later.
//
// Addresses are 10.77.0.1 (A) and 10.77.0.2 (B), private to each pair of
// namespaces; nothing leaves them but through this relay, and the relay only
// joins the two.

const (
	labAddrA = "10.77.0.1"
	labAddrB = "10.77.0.2"
	labIface = "lab0"
)

// requireRoot fails (never skips) the test when namespaces cannot be made:
// CI runs as root, and a silent skip would hide that nothing was tested.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the fault tests make network namespaces and need root: run as root: sudo make test")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("the fault tests need ip(8) from iproute2 (make deps installs it): %v", err)
	}
}

// linkShape is one direction's impairment. Zero values mean no limit.
type linkShape struct {
	rate  int           // bit/s on the wire (IP bytes); 0 means unlimited
	delay time.Duration // one way
	loss  float64       // 0 to 1, random
	queue time.Duration // longest wait for the link before a tail drop (default 200 ms)
}

// labStats counts what one direction of the link did.
type labStats struct {
	delivered, dropped, queued atomic.Uint64
}

// netLab is a pair of namespaces joined by a shaped link.
type netLab struct {
	t      testing.TB
	a, b   string // namespace names
	tunA   *os.File
	tunB   *os.File
	shapes [2]atomic.Pointer[linkShape] // 0: A to B, 1: B to A
	cut    atomic.Bool
	stats  [2]labStats
	wg     sync.WaitGroup
}

var labSeq atomic.Int64

// newNetLab makes the namespaces and the link, and removes them when the
// test ends, pass or fail.
func newNetLab(t testing.TB) *netLab {
	t.Helper()
	requireRoot(t)
	removeStaleLabs()
	n := labSeq.Add(1)
	l := &netLab{
		t: t,
		a: fmt.Sprintf("tcfault-%d-%d-a", os.Getpid(), n),
		b: fmt.Sprintf("tcfault-%d-%d-b", os.Getpid(), n),
	}
	for _, ns := range []string{l.a, l.b} {
		labRun(t, "ip", "netns", "add", ns)
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Logf("ip netns del %s: %v: %s", ns, err, out)
			}
		})
		labRun(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	var err error
	if l.tunA, err = openTUN(l.a); err != nil {
		t.Fatalf("TUN device in %s: %v", l.a, err)
	}
	if l.tunB, err = openTUN(l.b); err != nil {
		l.tunA.Close()
		t.Fatalf("TUN device in %s: %v", l.b, err)
	}
	labRun(t, "ip", "-n", l.a, "addr", "add", labAddrA, "peer", labAddrB, "dev", labIface)
	labRun(t, "ip", "-n", l.b, "addr", "add", labAddrB, "peer", labAddrA, "dev", labIface)
	labRun(t, "ip", "-n", l.a, "link", "set", labIface, "up")
	labRun(t, "ip", "-n", l.b, "link", "set", labIface, "up")
	l.shapes[0].Store(&linkShape{})
	l.shapes[1].Store(&linkShape{})
	l.relay(0, l.tunA, l.tunB)
	l.relay(1, l.tunB, l.tunA)
	t.Cleanup(func() {
		l.tunA.Close()
		l.tunB.Close()
		l.wg.Wait()
	})
	return l
}

// removeStaleLabs deletes namespaces left by a test process that died
// before its cleanup ran.
func removeStaleLabs() {
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		parts := strings.Split(e.Name(), "-")
		if len(parts) != 4 || parts[0] != "tcfault" {
			continue
		}
		pid, err := strconv.Atoi(parts[1])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = exec.Command("ip", "netns", "del", e.Name()).Run()
		}
	}
}

func labRun(t testing.TB, argv ...string) {
	t.Helper()
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(argv, " "), err, out)
	}
}

// inNetns runs f on this goroutine's thread switched into namespace ns.
// Sockets made by f stay in ns for good. If the thread cannot be switched
// back it stays locked, so the runtime retires it with the goroutine.
func inNetns(ns string, f func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	target, err := os.Open(filepath.Join("/run/netns", ns))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", ns, err)
	}
	ferr := f()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns back: %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// openTUN creates the link's TUN device inside ns.
func openTUN(ns string) (*os.File, error) {
	var f *os.File
	err := inNetns(ns, func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return fmt.Errorf("open /dev/net/tun: %w", err)
		}
		ifr, err := unix.NewIfreq(labIface)
		if err != nil {
			unix.Close(fd)
			return err
		}
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(fd)
			return fmt.Errorf("TUNSETIFF: %w", err)
		}
		f = os.NewFile(uintptr(fd), labIface) // non-blocking: the runtime poller serves it
		return nil
	})
	return f, err
}

// shape sets both directions of the link; rtt is split evenly.
func (l *netLab) shape(rate int, rtt time.Duration, loss float64) {
	s := &linkShape{rate: rate, delay: rtt / 2, loss: loss}
	l.shapes[0].Store(s)
	l.shapes[1].Store(s)
	l.t.Logf("link shaped: %d bit/s, RTT %v, loss %.1f%%", rate, rtt, loss*100)
}

// setCut cuts the link (every packet dropped both ways) or restores it.
func (l *netLab) setCut(cut bool) {
	l.cut.Store(cut)
	l.t.Logf("link cut: %v", cut)
}

type labPacket struct {
	data []byte
	due  time.Time
}

// relay moves packets from src to dst as the shape of direction dir says.
func (l *netLab) relay(dir int, src, dst *os.File) {
	q := make(chan labPacket, 4096)
	st := &l.stats[dir]
	l.wg.Go(func() {
		defer close(q)
		buf := make([]byte, 65536)
		var free time.Time // when the link has sent everything queued so far
		for {
			n, err := src.Read(buf)
			if err != nil {
				return
			}
			sh := l.shapes[dir].Load()
			if l.cut.Load() || (sh.loss > 0 && rand.Float64() < sh.loss) {
				st.dropped.Add(1)
				continue
			}
			now := time.Now()
			due := now
			if sh.rate > 0 {
				start := now
				if free.After(start) {
					start = free
				}
				limit := sh.queue
				if limit == 0 {
					limit = 200 * time.Millisecond
				}
				if start.Sub(now) > limit {
					st.dropped.Add(1)
					continue
				}
				free = start.Add(time.Duration(float64(n*8) / float64(sh.rate) * float64(time.Second)))
				due = free
			}
			due = due.Add(sh.delay)
			select {
			case q <- labPacket{data: append([]byte(nil), buf[:n]...), due: due}:
				st.queued.Add(1)
			default:
				st.dropped.Add(1)
			}
		}
	})
	l.wg.Go(func() {
		for p := range q {
			if d := time.Until(p.due); d > 0 {
				time.Sleep(d)
			}
			if l.cut.Load() {
				st.dropped.Add(1)
				continue
			}
			if _, err := dst.Write(p.data); err != nil {
				if errors.Is(err, os.ErrClosed) {
					return
				}
				continue
			}
			st.delivered.Add(1)
		}
	})
}

// command returns argv to be run inside namespace ns.
func (l *netLab) command(ns string, argv ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
}

// listen opens a TCP listener inside ns.
func (l *netLab) listen(ns, addr string) net.Listener {
	l.t.Helper()
	var ln net.Listener
	if err := inNetns(ns, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	}); err != nil {
		l.t.Fatalf("listen on %s in %s: %v", addr, ns, err)
	}
	l.t.Cleanup(func() { ln.Close() })
	return ln
}

// dial opens a TCP connection from inside ns.
func (l *netLab) dial(ctx context.Context, ns, addr string) (net.Conn, error) {
	var c net.Conn
	err := inNetns(ns, func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, "tcp", addr)
		return err
	})
	return c, err
}

// httpClient returns an HTTP client whose connections start inside ns.
func (l *netLab) httpClient(ns string, conns int) *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return l.dial(ctx, ns, addr)
		},
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
	}
	l.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// pionNet is a pion network whose sockets are made inside a namespace, so
// in-process engines can sit on either side of the link.
type pionNet struct {
	*stdnet.Net
	ns string
}

func (l *netLab) pionNet(ns string) transport.Net {
	l.t.Helper()
	var n *stdnet.Net
	if err := inNetns(ns, func() (err error) {
		n, err = stdnet.NewNet() // reads the interfaces of ns
		return err
	}); err != nil {
		l.t.Fatalf("pion net in %s: %v", ns, err)
	}
	return &pionNet{Net: n, ns: ns}
}

func (n *pionNet) ListenUDP(network string, laddr *net.UDPAddr) (c transport.UDPConn, err error) {
	err = inNetns(n.ns, func() error { c, err = n.Net.ListenUDP(network, laddr); return err })
	return c, err
}

func (n *pionNet) ListenPacket(network, address string) (c net.PacketConn, err error) {
	err = inNetns(n.ns, func() error { c, err = n.Net.ListenPacket(network, address); return err })
	return c, err
}

func (n *pionNet) DialUDP(network string, laddr, raddr *net.UDPAddr) (c transport.UDPConn, err error) {
	err = inNetns(n.ns, func() error { c, err = n.Net.DialUDP(network, laddr, raddr); return err })
	return c, err
}

func (n *pionNet) Dial(network, address string) (c net.Conn, err error) {
	err = inNetns(n.ns, func() error { c, err = n.Net.Dial(network, address); return err })
	return c, err
}

func (n *pionNet) ListenTCP(network string, laddr *net.TCPAddr) (c transport.TCPListener, err error) {
	err = inNetns(n.ns, func() error { c, err = n.Net.ListenTCP(network, laddr); return err })
	return c, err
}

func (n *pionNet) DialTCP(network string, laddr, raddr *net.TCPAddr) (c transport.TCPConn, err error) {
	err = inNetns(n.ns, func() error { c, err = n.Net.DialTCP(network, laddr, raddr); return err })
	return c, err
}

// rssKB reads a process's resident set size from /proc.
func rssKB(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				return strconv.Atoi(f[0])
			}
		}
	}
	return 0, errors.New("no VmRSS")
}
