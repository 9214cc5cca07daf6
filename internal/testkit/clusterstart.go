package testkit

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
)

// LocalCluster is a Redis Cluster a test started for itself (StartCluster):
// for what would disturb the shared one (killing a master).
type LocalCluster struct {
	Addrs []string // every node, masters first as created
	procs map[string]*exec.Cmd
	done  map[string]chan struct{}
}

// StartCluster starts a Redis Cluster of masters masters, each with
// replicas replicas, on free loopback ports (bus ports free too), node
// timeout 1000 ms, nothing on disk; it waits until every node reports
// cluster_state:ok with all slots and every replica is linked and listed
// in CLUSTER SLOTS. The test's cleanup kills every node. It needs
// redis-server and redis-cli; about 3 s.
func StartCluster(t testing.TB, masters, replicas int) *LocalCluster {
	t.Helper()
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found (Debian: apt-get install -y redis-server redis-tools): %v", bin, err)
		}
	}
	lc := &LocalCluster{procs: map[string]*exec.Cmd{}, done: map[string]chan struct{}{}}
	t.Cleanup(lc.stop)
	total := masters * (1 + replicas)
	for len(lc.Addrs) < total {
		port := 20000 + rand.IntN(25000)
		if !portFree(port) || !portFree(port+10000) {
			continue
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--loglevel", "warning",
			"--cluster-enabled", "yes", "--cluster-node-timeout", "1000",
			"--cluster-announce-ip", "127.0.0.1", "--repl-ping-replica-period", "1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		lc.procs[addr], lc.done[addr] = cmd, done
		if !waitPing(addr, done) {
			continue // the port was taken meanwhile
		}
		lc.Addrs = append(lc.Addrs, addr)
	}
	args := append([]string{"--cluster", "create"}, lc.Addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !lc.ready(t, total, masters*replicas) {
		if time.Now().After(deadline) {
			t.Fatal("the cluster did not become ready in 60 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return lc
}

func portFree(port int) bool {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}

func waitPing(addr string, done chan struct{}) bool {
	for i := 0; i < 200; i++ {
		select {
		case <-done:
			return false
		default:
		}
		if c, err := redis.Dial("tcp", addr, redis.DialConnectTimeout(time.Second)); err == nil {
			_, err = c.Do("PING")
			_ = c.Close()
			if err == nil {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// ready: every live node says ok, knows every node, and CLUSTER SLOTS lists
// the replicas.
func (lc *LocalCluster) ready(t testing.TB, total, replicas int) bool {
	for _, a := range lc.Addrs {
		c, err := redis.Dial("tcp", a, redis.DialConnectTimeout(time.Second), redis.DialReadTimeout(5*time.Second))
		if err != nil {
			return false
		}
		info, err := redis.String(c.Do("CLUSTER", "INFO"))
		if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") ||
			!strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(total)) {
			_ = c.Close()
			return false
		}
		slots, err := redis.Values(c.Do("CLUSTER", "SLOTS"))
		_ = c.Close()
		if err != nil {
			return false
		}
		listed := 0
		for _, r := range slots {
			v, _ := redis.Values(r, nil)
			if len(v) > 3 {
				listed += len(v) - 3
			}
		}
		if listed < replicas {
			return false
		}
	}
	// Every replica linked to its master.
	linked := 0
	for _, a := range lc.Addrs {
		c, err := redis.Dial("tcp", a, redis.DialConnectTimeout(time.Second), redis.DialReadTimeout(5*time.Second))
		if err != nil {
			return false
		}
		info, err := redis.String(c.Do("INFO", "replication"))
		_ = c.Close()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			linked++
		}
	}
	return linked == replicas
}

// MasterOf returns the master serving key, as a node of the cluster sees it.
func (lc *LocalCluster) MasterOf(t testing.TB, key string) string {
	t.Helper()
	for _, a := range lc.Addrs {
		c, err := redis.Dial("tcp", a)
		if err != nil {
			continue
		}
		_, err = c.Do("EXISTS", key)
		_ = c.Close()
		if err == nil {
			role := lc.role(a)
			if role == "master" {
				return a
			}
		}
	}
	t.Fatalf("no master serves %q", key)
	return ""
}

func (lc *LocalCluster) role(addr string) string {
	c, err := redis.Dial("tcp", addr)
	if err != nil {
		return ""
	}
	defer c.Close()
	r, err := redis.Values(c.Do("ROLE"))
	if err != nil || len(r) == 0 {
		return ""
	}
	s, _ := redis.String(r[0], nil)
	return s
}

// MigrateSlot moves slot from its master to another live master, as
// Backend.MigrateSlot does; it returns the source and target.
func (lc *LocalCluster) MigrateSlot(t testing.TB, slot int, pause time.Duration) (src, dst string) {
	t.Helper()
	var masters []string
	for _, a := range lc.Addrs {
		select {
		case <-lc.done[a]:
			continue // killed
		default:
		}
		if lc.role(a) == "master" {
			masters = append(masters, a)
		}
	}
	return migrateSlot(t, masters, slot, pause)
}

// Kill kills the node at addr (SIGKILL: no goodbye to the cluster).
func (lc *LocalCluster) Kill(t testing.TB, addr string) {
	t.Helper()
	cmd := lc.procs[addr]
	if cmd == nil {
		t.Fatalf("no node %s", addr)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-lc.done[addr]
}

// ReplicaOf returns a replica of the master at addr ("" when it has none).
func (lc *LocalCluster) ReplicaOf(t testing.TB, master string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(master)
	for _, a := range lc.Addrs {
		c, err := redis.Dial("tcp", a, redis.DialConnectTimeout(time.Second), redis.DialReadTimeout(5*time.Second))
		if err != nil {
			continue
		}
		r, err := redis.Values(c.Do("ROLE"))
		_ = c.Close()
		if err != nil || len(r) < 3 {
			continue
		}
		role, _ := redis.String(r[0], nil)
		h, _ := redis.String(r[1], nil)
		p, _ := redis.Int(r[2], nil)
		if role == "slave" && h == host && strconv.Itoa(p) == port {
			return a
		}
	}
	return ""
}

// Pause stops the node at addr (SIGSTOP: it neither reads nor answers,
// its connections stay open); Resume (SIGCONT) lets it go on.
func (lc *LocalCluster) Pause(t testing.TB, addr string) { lc.signal(t, addr, syscall.SIGSTOP) }

// Resume undoes Pause.
func (lc *LocalCluster) Resume(t testing.TB, addr string) { lc.signal(t, addr, syscall.SIGCONT) }

func (lc *LocalCluster) signal(t testing.TB, addr string, sig syscall.Signal) {
	t.Helper()
	cmd := lc.procs[addr]
	if cmd == nil {
		t.Fatalf("no node %s", addr)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%v to %s: %v", sig, addr, err)
	}
}

func (lc *LocalCluster) stop() {
	for a, cmd := range lc.procs {
		_ = cmd.Process.Kill()
		<-lc.done[a]
	}
}

// String lists the nodes.
func (lc *LocalCluster) String() string { return fmt.Sprint(lc.Addrs) }
