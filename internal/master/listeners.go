package master

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"wsproxy/config"
	"wsproxy/internal/sock"
)

// Listening sockets.
//
// The master opens the listening sockets itself and hands each worker its
// share: the workers never bind. A socket is then never closed when a
// generation ends: the master and the next generation's workers hold it, so
// the old workers' last close only drops their copies. Connections the
// kernel had queued on it, or had not finished yet (a client whose first
// bytes had not come: TCP_DEFER_ACCEPT keeps such a connection out of the
// accept queue; a handshake under way), are accepted by the next
// generation instead of being reset, which is what closing an
// SO_REUSEPORT socket does to them unless net.ipv4.tcp_migrate_req=1.
// nginx keeps its listening sockets in the master in the same way; HAProxy
// passes them from the old process to the new one.
//
// Each listen address has a list of sockets, all bound with SO_REUSEPORT
// (the kernel spreads connections over them), one per loop of every worker
// of a generation; a generation with more workers or loops than any before
// it adds sockets, one with fewer keeps them all and gives some worker two.
// Socket j goes to the worker of slot j mod workers, and in the worker to
// its loops in turn. The master closes a socket only when neither the
// serving nor the starting generation holds it any more: its address was
// dropped, the generation that opened it could not start or was
// superseded, or the worker it was given to died (pruneSockets).

// EnvListenFDs names the descriptors of a worker's listening sockets: for
// each configured listener in order, separated by ";", its descriptors
// separated by ",". Unset: the worker binds its own (a master that
// predates this, or none).
const EnvListenFDs = "WSPROXY_LISTEN_FDS"

// firstListenFD is the descriptor of the first listening socket a worker
// inherits, after ctlFD.
const firstListenFD = ctlFD + 1

// lsock is one listening socket the master holds.
type lsock struct {
	f    *os.File
	addr string
}

// listenSockets returns, for each listener of spec, the sockets of a new
// generation: those the master holds for its address, plus new ones until
// there is one per loop of every worker.
func (m *Master) listenSockets(spec Spec, cfg *config.Config) ([][]*lsock, error) {
	// As the workers count their loops (cmd/wsproxy: -loops, else the
	// configuration's, else a share of the CPUs).
	loops := cfg.Loops
	switch {
	case m.cfg.Loops > 0:
		loops = m.cfg.Loops
	case cfg.LoopsAuto:
		loops = config.AutoLoops(spec.Workers)
	}
	want := max(spec.Workers, 1) * max(loops, 1)
	out := make([][]*lsock, len(spec.Listen))
	for i, addr := range spec.Listen {
		for len(m.socks[addr]) < want {
			s, err := openListener(addr)
			if err != nil {
				return nil, fmt.Errorf("listen[%d]: %w", i, err)
			}
			m.socks[addr] = append(m.socks[addr], s)
		}
		out[i] = slices.Clone(m.socks[addr])
	}
	return out, nil
}

func openListener(addr string) (*lsock, error) {
	fd, _, err := sock.Listen(addr, true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	// Blocking, so that os.NewFile leaves it out of the master's own
	// netpoller, which would wake for every connection. The workers make
	// the open file non-blocking again (reactor.ListenFD); the master
	// never reads it.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %w", addr, os.NewSyscallError("fcntl", err))
	}
	return &lsock{f: os.NewFile(uintptr(fd), "listen "+addr), addr: addr}, nil
}

// slotSockets returns the sockets of g's worker in slot, to append to its
// inherited files, and the value of EnvListenFDs naming them. A socket
// dropped when the slot's last worker died (dropSlot) is opened anew.
func (m *Master) slotSockets(g *generation, slot int) ([]*os.File, string, error) {
	var files []*os.File
	lists := make([]string, len(g.socks))
	for i, list := range g.socks {
		var fds []string
		for j := slot; j < len(list); j += len(g.workers) {
			if list[j] == nil {
				s, err := openListener(g.spec.Listen[i])
				if err != nil {
					return nil, "", fmt.Errorf("listen[%d]: %w", i, err)
				}
				list[j] = s
				m.socks[s.addr] = append(m.socks[s.addr], s)
			}
			fds = append(fds, strconv.Itoa(firstListenFD+len(files)))
			files = append(files, list[j].f)
		}
		lists[i] = strings.Join(fds, ",")
	}
	return files, strings.Join(lists, ";"), nil
}

// dropSlot lets go of the sockets of a serving generation's worker that
// died: while the slot waits for its restart, the kernel gives new
// connections to the other workers' sockets instead of queueing them on
// sockets nobody accepts from, as it did when each worker bound its own.
// What the dead worker had queued is reset, as then. A starting
// generation's worker that shares one keeps it open.
func (m *Master) dropSlot(g *generation, slot int) {
	for _, list := range g.socks {
		for j := slot; j < len(list); j += len(g.workers) {
			list[j] = nil
		}
	}
	m.pruneSockets()
}

// parseListenFDs parses EnvListenFDs for a worker with listeners listeners.
func parseListenFDs(v string, listeners int) ([][]int, error) {
	if v == "" && listeners == 0 {
		return [][]int{}, nil
	}
	lists := strings.Split(v, ";")
	if len(lists) != listeners {
		return nil, fmt.Errorf("%s=%q: %d lists for %d listeners", EnvListenFDs, v, len(lists), listeners)
	}
	out := make([][]int, len(lists))
	for i, l := range lists {
		if l == "" {
			continue
		}
		for _, f := range strings.Split(l, ",") {
			fd, err := strconv.Atoi(f)
			if err != nil || fd < firstListenFD {
				return nil, fmt.Errorf("%s=%q: bad descriptor %q", EnvListenFDs, v, f)
			}
			out[i] = append(out[i], fd)
		}
	}
	return out, nil
}

// pruneSockets closes the listening sockets that neither the serving nor
// the starting generation holds: those of addresses no longer listened on,
// those a generation that could not start opened, and those of a worker
// that died. Retired workers keep their own copies until they stop
// accepting.
func (m *Master) pruneSockets() {
	keep := make(map[*lsock]bool)
	for _, g := range []*generation{m.cur, m.next} {
		if g == nil {
			continue
		}
		for _, list := range g.socks {
			for _, s := range list {
				if s != nil {
					keep[s] = true
				}
			}
		}
	}
	for addr, list := range m.socks {
		kept := list[:0]
		for _, s := range list {
			if keep[s] {
				kept = append(kept, s)
			} else {
				s.f.Close()
			}
		}
		if len(kept) == 0 {
			delete(m.socks, addr)
		} else {
			m.socks[addr] = kept
		}
	}
}

// closeSockets closes every listening socket the master holds, when it
// stops.
func (m *Master) closeSockets() {
	for addr, list := range m.socks {
		for _, s := range list {
			s.f.Close()
		}
		delete(m.socks, addr)
	}
}

// ignoredSockets handles a ready worker that did not say it took the
// listening sockets it was given: a binary older than the master's (a
// rollback). It holds its share of the sockets without accepting on them,
// so the connections the kernel gives them would wait for nobody. A
// starting generation is abandoned; a restarted worker of the serving one
// is stopped, and its slot restarted (its sockets closed meanwhile). It
// reports whether it did either.
func (m *Master) ignoredSockets(w *worker) bool {
	g := w.g
	given := false
	for _, list := range g.socks {
		given = given || len(list) > 0
	}
	if !given || g.retired {
		return false
	}
	err := fmt.Errorf("worker %s did not take the listening sockets the master handed it: "+
		"its binary is older than the master's; restart the master to run it", w.name())
	switch g {
	case m.next:
		m.abandon(g, err)
	case m.cur:
		m.log.Error("stopping a worker", "err", err)
		_ = w.cmd.Process.Kill()
	default:
		return false
	}
	return true
}
