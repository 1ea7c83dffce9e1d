package conf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// Authkey size limits (TOTEM_PRIVATE_KEY_LEN_MIN/MAX): corosync reads at
// most 4096 bytes and refuses fewer than 128.
const (
	AuthkeyMin = totemPrivateKeyLenMin
	AuthkeyMax = totemPrivateKeyLenMax
	// DefaultAuthkeyPath is where corosync looks when totem.keyfile is unset.
	DefaultAuthkeyPath = defaultAuthkeyLocation
)

// AuthkeyError is a failure to use the authkey, worded as
// totemconfig.c:read_keyfile words it ("Could not open /etc/corosync/authkey:
// No such file or directory").
type AuthkeyError struct {
	Path string
	Msg  string
	Err  error
}

func (e *AuthkeyError) Error() string { return e.Msg }
func (e *AuthkeyError) Unwrap() error { return e.Err }

// strerror renders an error's errno as glibc's strerror does: Go's table
// has the same words with a lower-case first letter.
func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return capitalize(errno.Error())
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return capitalize(pe.Err.Error())
	}
	return err.Error()
}

func capitalize(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// ReadAuthkey reads a key file as corosync does: the first 4096 bytes, at
// least 128 of them. A nil env reads the real file system.
func ReadAuthkey(env *Env, path string) ([]byte, error) {
	read := os.ReadFile
	if env != nil && env.ReadFile != nil {
		read = env.ReadFile
	}
	data, err := read(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Op == "read" {
			return nil, &AuthkeyError{Path: path, Err: err, Msg: fmt.Sprintf("Could not read %s: %s", path, strerror(err))}
		}
		if errors.Is(err, syscall.EISDIR) {
			return nil, &AuthkeyError{Path: path, Err: err, Msg: fmt.Sprintf("Could not read %s: %s", path, strerror(err))}
		}
		return nil, &AuthkeyError{Path: path, Err: err, Msg: fmt.Sprintf("Could not open %s: %s", path, strerror(err))}
	}
	if len(data) > AuthkeyMax {
		data = data[:AuthkeyMax]
	}
	if len(data) < AuthkeyMin {
		return nil, &AuthkeyError{Path: path, Msg: fmt.Sprintf("Could only read %d bits of minimum %d bits from %s.", len(data)*8, AuthkeyMin*8, path)}
	}
	return data, nil
}

// AuthkeyModeWarning returns a warning when the key file can be read or
// written by group or others. corosync itself does not check; corosync-keygen
// creates keys 0400, and a readable key lets any local user join the ring.
func AuthkeyModeWarning(env *Env, path string) (Warning, bool) {
	stat := func(p string) (fs.FileMode, error) {
		fi, err := os.Stat(p)
		if err != nil {
			return 0, err
		}
		return fi.Mode(), nil
	}
	if env != nil && env.Stat != nil {
		stat = env.Stat
	}
	mode, err := stat(path)
	if err != nil || mode.Perm()&0o077 == 0 {
		return Warning{}, false
	}
	return Warning{Ours: true, Msg: fmt.Sprintf("authkey %s has mode %04o: it should be readable by root only (chmod 0400)", path, mode.Perm())}, true
}
