// Package fileowner reads who owns a file, where the platform says: the numeric UID and
// GID on Linux and macOS. On Windows a file has no such owner, and Of says so.
package fileowner

import "os"

// Of is the UID and GID that own the file st describes; ok is false where the platform
// has no numeric owner (Windows).
func Of(st os.FileInfo) (uid, gid int, ok bool) { return of(st) }
