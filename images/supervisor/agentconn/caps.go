package agentconn

import (
	"io"
	"net"
	"sync"
	"time"
)

// The proxy's caps on open connections: per agent (per client address on the proxy's own
// port), and in all.
const (
	MaxConnsPerClient = 64
	MaxConns          = 1024
)

// Caps caps the connections open at once, per agent (per client address on the proxy's
// own port) and in all, over every listener it limits: one agent cannot exhaust the proxy
// (file descriptors, memory) for the others. A connection over a cap is answered 503 and
// closed.
type Caps struct {
	perClient, total int
	mu               sync.Mutex
	open             map[string]int
	all              int
}

// NewCaps caps each client at perClient connections, and all at total.
func NewCaps(perClient, total int) *Caps {
	return &Caps{perClient: perClient, total: total, open: map[string]int{}}
}

// Limit is ln, its connections counted against the caps.
func (c *Caps) Limit(ln net.Listener) net.Listener { return &connLimiter{Listener: ln, caps: c} }

type connLimiter struct {
	net.Listener
	caps *Caps
}

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		client, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		if ac, ok := c.(*conn); ok {
			client = "agent " + ac.agent
		}
		caps := l.caps
		caps.mu.Lock()
		over := caps.open[client] >= caps.perClient || caps.all >= caps.total
		if !over {
			caps.open[client]++
			caps.all++
		}
		caps.mu.Unlock()
		if over {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
			c.Close()
			continue
		}
		return &limitedConn{Conn: c, release: func() { caps.release(client) }}, nil
	}
}

func (c *Caps) release(client string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open[client]--; c.open[client] <= 0 {
		delete(c.open, client)
	}
	c.all--
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
