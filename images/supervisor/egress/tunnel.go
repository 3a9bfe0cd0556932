package egress

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// tunnel copies both ways of a CONNECT tunnel and ends it once neither way carried
// anything for idle: a tunnel left open by a stuck or gone client does not hold its
// connections (and the proxy's file descriptors) for ever.
type tunnel struct {
	idle time.Duration
	last atomic.Int64 // UnixNano of the last byte either way
}

func (t *tunnel) touch() { t.last.Store(time.Now().UnixNano()) }

// pipe copies src to dst until src ends (nil) or fails or the tunnel idles (an error).
func (t *tunnel) pipe(dst, src net.Conn) error {
	buf := make([]byte, 32<<10)
	for {
		_ = src.SetReadDeadline(time.Now().Add(t.idle))
		n, err := src.Read(buf)
		if n > 0 {
			t.touch()
			_ = dst.SetWriteDeadline(time.Now().Add(t.idle))
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return nil
		case errors.Is(err, os.ErrDeadlineExceeded) && time.Since(time.Unix(0, t.last.Load())) < t.idle:
			// Quiet this way only: the other way carries data.
		default:
			return err
		}
	}
}
