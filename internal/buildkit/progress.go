package buildkit

import (
	"fmt"

	"github.com/moby/buildkit/util/progress/progressui"
)

// ParseProgress reads a --progress value as docker buildx build does.
func ParseProgress(s string) (progressui.DisplayMode, error) {
	switch m := progressui.DisplayMode(s); m {
	case progressui.AutoMode, progressui.TtyMode, progressui.PlainMode, progressui.RawJSONMode, progressui.QuietMode:
		return m, nil
	case "":
		return progressui.AutoMode, nil
	}
	return "", fmt.Errorf("invalid --progress %q: choose auto, tty, plain, rawjson or quiet", s)
}
