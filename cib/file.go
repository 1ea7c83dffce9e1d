package cib

import (
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// FileCIB is the offline CIB the tools use when CIB_file or CIB_shadow is
// set (lib/cib/cib_file.c): the file is read at sign-on, operations apply in
// memory, and the result is written back at sign-off if anything changed.
// The live CIB (DIR/cib.xml) is written through Store with its digest and
// backups; any other file is replaced atomically.
type FileCIB struct {
	Path   string
	Live   bool
	Engine *Engine
	Stdin  io.Reader // for Path "-"
	root   *etree.Element
	dirty  bool
}

// ShadowPath resolves a CIB_shadow name like get_shadow_file: in
// $CIB_shadow_dir, else in the CIB directory for root and hacluster, else in
// ~/.cib.
func ShadowPath(name string) string {
	if d := os.Getenv("CIB_shadow_dir"); d != "" {
		return filepath.Join(d, "shadow."+name)
	}
	dir := DefaultCIBDir
	if u, err := user.Current(); err == nil && u.Username != "root" && u.Username != "hacluster" {
		home := u.HomeDir
		if home == "" {
			home = "/tmp"
		}
		dir = filepath.Join(home, ".cib")
	}
	return filepath.Join(dir, "shadow."+name)
}

// OpenFile signs on to a file CIB (load_file_cib): ENXIO when the file is
// missing, ErrSchemaValidation when it does not parse or validate. A
// missing status section is added.
func OpenFile(path string, eng *Engine) (*FileCIB, Rc) {
	f := &FileCIB{Path: path, Engine: eng, Stdin: os.Stdin}
	if path != "-" {
		if _, err := os.Stat(path); err != nil {
			return nil, ENXIO
		}
	}
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(f.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, ENXIO
	}
	if strings.HasSuffix(path, ".bz2") {
		if data, err = io.ReadAll(bzip2.NewReader(bytes.NewReader(data))); err != nil {
			return nil, ErrSchemaValidation
		}
	}
	root, err := ParseXML(data)
	if err != nil {
		return nil, ErrSchemaValidation
	}
	if FirstChild(root, "status") == nil {
		root.CreateElement("status")
	}
	if err := eng.validate(root); err != nil {
		return nil, ErrSchemaValidation
	}
	f.root = root
	if abs, err := filepath.EvalSymlinks(path); err == nil {
		if a, err := filepath.Abs(abs); err == nil && a == filepath.Join(DefaultCIBDir, "cib.xml") {
			f.Live = true
		}
	}
	return f, OK
}

// Root returns the in-memory CIB.
func (f *FileCIB) Root() *etree.Element { return f.root }

// Perform runs one operation on the in-memory CIB. File operations never
// stamp cib-last-written and never broadcast (cib_file_perform_op_delegate
// adds cib_no_mtime|cib_inhibit_bcast|cib_scope_local).
func (f *FileCIB) Perform(req Request) Result {
	req.Options |= OptNoMtime | OptInhibitBcast | OptScopeLocal
	switch req.Op {
	case OpQuery, OpModify, OpApplyDiff, OpBump, OpReplace, OpCreate, OpDelete, OpErase, OpUpgrade:
	default:
		return Result{Rc: EPROTONOSUPPORT}
	}
	// Mirror cib_prepare_common: a whole <cib> given with a section is cut
	// down to that section.
	if req.Section != "" && req.Data != nil && elemName(req.Data) == "cib" && req.Options&OptXPath == 0 {
		if s, _ := FindSection(req.Data, req.Section); s != nil {
			req.Data = s
		}
	}
	res := f.Engine.Perform(f.root, req)
	if res.Rc == OK && res.CIB != nil {
		f.root = res.CIB
		f.dirty = true
	}
	return res
}

// Close writes the CIB back if an operation changed it (cib_file_signoff).
func (f *FileCIB) Close() error {
	if !f.dirty {
		return nil
	}
	f.dirty = false
	if f.Path == "-" {
		return nil
	}
	if f.Live {
		st := &Store{Dir: filepath.Dir(f.Path)}
		if os.Geteuid() == 0 {
			if u, err := user.Lookup("hacluster"); err == nil {
				uid, _ := strconv.Atoi(u.Uid)
				gid, _ := strconv.Atoi(u.Gid)
				st.Chown = &[2]int{uid, gid}
			}
		}
		if _, err := st.Write(f.root); err != nil {
			return fmt.Errorf("could not write CIB to %s: %w", f.Path, err)
		}
		return nil
	}
	if strings.HasSuffix(f.Path, ".bz2") {
		return errors.New("writing bzip2-compressed CIB files is not supported")
	}
	// In place, as write_xml_file does (fopen "w"): pcs -f keeps its
	// temporary CIB file open and reads the result back through that
	// descriptor, so a rename over the path would hide the change from it.
	return os.WriteFile(f.Path, []byte(Serialize(f.root, true)), 0o644)
}

// WriteFileAtomic replaces path with data: temporary file in the same
// directory, fsync, rename, directory fsync. An existing file's mode is kept.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Chmod(mode)
	}
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(name, path)
	}
	if werr != nil {
		os.Remove(name)
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return syncDir(dir)
}
