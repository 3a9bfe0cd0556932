// Package fleetops is what the commands do to a fleet, with typed requests and results:
// the commands parse flags into a request and print the result (as compose's commands
// over its api.Service). It reads the fleet saved in the compose file (Open), and brings
// a fleet up (Up).
package fleetops

import (
	"path/filepath"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config"

	"github.com/docker-magents/docker-magents/compose"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// Service does the fleet's operations with a docker CLI's engine, compose and
// configuration.
type Service struct {
	cli command.Cli
}

// New is the service of the docker CLI cli.
func New(cli command.Cli) *Service { return &Service{cli: cli} }

// Open reads the fleet saved in composeFile (an absolute path), or returns the defaults of
// the project up would create there (saved reports which). project is the one asked for
// (-p or COMPOSE_PROJECT_NAME; "" for none): a new project takes it, else the directory's
// name, and a saved one must be it.
func Open(composeFile, project string) (f *fleet.Fleet, saved bool, err error) {
	f, err = compose.ReadFleet(composeFile)
	if err != nil {
		return nil, false, err
	}
	// The Docker config dir: registry logins, and the records of what docker magents wrote.
	hostTrusted := []string{config.Dir()}
	if f == nil {
		// As compose names a project: after the directory, unless -p or
		// COMPOSE_PROJECT_NAME says otherwise.
		if project == "" {
			project = fleet.DefaultProjectFor(filepath.Dir(composeFile))
		}
		f = fleet.New(project, composeFile)
		f.HostTrusted = hostTrusted
		return f, false, nil
	}
	f.HostTrusted = hostTrusted
	if project != "" && project != f.Project {
		return nil, false, &ProjectMismatch{File: composeFile, Saved: f.Project, Asked: project}
	}
	return f, true, nil
}

// ProjectMismatch is a compose file of another project than the one asked for.
type ProjectMismatch struct {
	File, Saved, Asked string
}

func (e *ProjectMismatch) Error() string {
	return e.File + " belongs to project " + e.Saved + ", not " + e.Asked
}

// RecordsDir is where the records of what docker magents wrote are kept.
func RecordsDir() string { return fleet.RecordsDir(config.Dir()) }
