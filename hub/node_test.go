package hub

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A NATS node in a process of its own, which a test can kill as an
// operating system or an out-of-memory killer does (SIGKILL): no step-down,
// no goodbye to the cluster. An in-process server's Shutdown hands its
// leaderships over first, which is not what a node's death is.

// nodeEnv carries a node's nodeConfig, as JSON, to the test binary run as
// that node.
const nodeEnv = "TELECONSOLE_HUB_TEST_NATS_NODE"

// nodeConfig is what of a ServerConfig a node process needs (no TLS).
type nodeConfig struct {
	Listen, DataDir, Name, ClusterListen string
	Routes                               []string
	MaxPayload                           int32
}

func (c nodeConfig) server() ServerConfig {
	return ServerConfig{Listen: c.Listen, DataDir: c.DataDir, Doctors: testDoctors(), HubUser: "hub", HubPassword: hubPass,
		Name: c.Name, ClusterName: "hospital", ClusterListen: c.ClusterListen, Routes: c.Routes, MaxPayload: c.MaxPayload}
}

func TestMain(m *testing.M) {
	if cfg := os.Getenv(nodeEnv); cfg != "" {
		os.Exit(runNode(cfg))
	}
	os.Exit(m.Run())
}

// runNode runs the NATS node cfg describes until its standard input closes
// or it is killed; it says "ready" on standard output once it takes
// connections.
func runNode(cfg string) int {
	var c nodeConfig
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	s, err := StartServer(c.server())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	s.Shutdown()
	return 0
}

// nodeProcess is a NATS node run by startNodes.
type nodeProcess struct {
	name string
	cmd  *exec.Cmd
}

// kill kills the node at once (SIGKILL) and waits for it to be gone.
func (n *nodeProcess) kill() {
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	_ = n.cmd.Wait()
}

// startNodes starts the three nodes p plans, each in a process of its own
// taking messages of at most maxPayload bytes (0: the embedded server's
// limit), and waits until each takes connections.
func (p clusterPlan) startNodes(t *testing.T, maxPayload int32) []*nodeProcess {
	t.Helper()
	nodes := make([]*nodeProcess, 3)
	for i := range 3 {
		cfg, err := json.Marshal(nodeConfig{Listen: p.listen[i], DataDir: t.TempDir(), Name: fmt.Sprintf("n%d", i),
			ClusterListen: strings.TrimPrefix(p.routes[i], "nats://"), Routes: p.routes, MaxPayload: maxPayload})
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), nodeEnv+"="+string(cfg))
		cmd.Stderr = os.Stderr
		if _, err := cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		n := &nodeProcess{name: fmt.Sprintf("n%d", i), cmd: cmd}
		t.Cleanup(n.kill)
		nodes[i] = n
		ready := make(chan error, 1)
		go func() {
			line, err := bufio.NewReader(out).ReadString('\n')
			if err == nil && strings.TrimSpace(line) != "ready" {
				err = fmt.Errorf("said %q", line)
			}
			ready <- err
		}()
		select {
		case err := <-ready:
			if err != nil {
				t.Fatalf("node %s: %v", n.name, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("node %s not ready within 30 s", n.name)
		}
	}
	return nodes
}
