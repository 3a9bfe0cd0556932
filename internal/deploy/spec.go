package deploy

import (
	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/internal/agentspec"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// agentEnv is agent n's environment (agentspec) on a platform without config objects:
// the shared config arrives in the image `docker magents build --with-config` makes, which
// sets its variable itself (see Exceptions).
func agentEnv(f *fleet.Fleet, n int) map[string]string {
	env := agentspec.Env(f, n)
	delete(env, agentenv.SharedConfig)
	return env
}
