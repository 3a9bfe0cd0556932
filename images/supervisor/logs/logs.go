// Package logs is the supervisor's own log: a line on its standard error, named
// "magents-supervisor:" so it stands apart from the agent's lines in the container's log
// (the activity lines the agent's supervisor prints go to standard output).
package logs

import (
	"fmt"
	"os"
)

// Printf writes one line.
func Printf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "magents-supervisor: "+format+"\n", args...)
}
