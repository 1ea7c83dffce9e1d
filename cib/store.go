package cib

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// Persistence of the CIB in Pacemaker's on-disk layout (lib/cib/cib_file.c):
//
//	DIR/cib.xml        the configuration (no status section, num_updates 0),
//	                   formatted as dump_xml_formatted prints it
//	DIR/cib.xml.sig    DigestOnDisk of it, 32 hex characters, no newline
//	DIR/cib-N.raw(.sig) hard-linked copies of the previous versions
//	DIR/cib.last       N of the next backup, wrapping at 100
//
// Pacemaker renames cib.xml and cib.xml.sig one after the other, so a crash
// between the two renames leaves a pair that does not match. We close that
// window with a journal: the new signature is first renamed to
// cib.xml.sig.pending, then cib.xml is replaced, then the pending signature
// takes its place. Recover (run by Load) finishes or discards a pending
// signature, so after any crash the pair matches again. Real Pacemaker never
// sees the pending file (it would fall back to a backup in that window).

// DefaultCIBDir is CRM_CONFIG_DIR.
const DefaultCIBDir = "/var/lib/pacemaker/cib"

const (
	seriesMax   = 100
	pendingName = "cib.xml.sig.pending"
	tmpPrefix   = "cib.rmtmp-"
)

// Store reads and writes one CIB directory.
type Store struct {
	Dir string
	// Chown, when set, gives written files to this uid/gid (hacluster:haclient
	// when running as root, like cib_do_chown).
	Chown *[2]int
	// Now stamps cib-last-written; nil means time.Now.
	Now func() time.Time
}

// ErrNoCIB is returned by Load when there is no cib.xml at all.
var ErrNoCIB = errors.New("no CIB on disk")

// DigestError reports a cib.xml whose digest does not match its .sig.
type DigestError struct {
	Path, Want, Got string
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("%s was modified by hand: its digest is %s but %s.sig says %s (refusing to use it)",
		e.Path, e.Got, filepath.Base(e.Path), e.Want)
}

// ReadAndVerify is cib_file_read_and_verify: the file must exist, be
// non-empty and parse, and match its signature file when there is one.
func ReadAndVerify(path, sigPath string) (*etree.Element, error) {
	if sigPath == "" {
		sigPath = path + ".sig"
	}
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", path, ErrNoCIB)
		}
		return nil, fmt.Errorf("read CIB: %w", err)
	}
	if st.Size() == 0 {
		return nil, fmt.Errorf("cluster configuration file %s is corrupt (size is zero): %w", path, ErrCorruptFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CIB: %w", err)
	}
	root, err := ParseXML(data)
	if err != nil {
		return nil, fmt.Errorf("cluster configuration file %s is corrupt (unparseable as XML: %v): %w", path, err, ErrCorruptFile)
	}
	sig, err := os.ReadFile(sigPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return root, nil // Pacemaker only warns
	case err != nil:
		return nil, fmt.Errorf("read digest %s: %w", sigPath, err)
	}
	want := strings.TrimSpace(string(sig))
	if want == "" {
		return nil, &DigestError{Path: path, Want: "(empty)", Got: DigestOnDisk(root)}
	}
	if got := DigestOnDisk(root); !strings.EqualFold(got, want) {
		return nil, &DigestError{Path: path, Want: want, Got: got}
	}
	return root, nil
}

func (s *Store) path(name string) string { return filepath.Join(s.Dir, name) }

// Recover completes or discards a write interrupted by a crash.
func (s *Store) Recover() error {
	pending := s.path(pendingName)
	if sig, err := os.ReadFile(pending); err == nil {
		data, rerr := os.ReadFile(s.path("cib.xml"))
		complete := false
		if rerr == nil {
			if root, perr := ParseXML(data); perr == nil && DigestOnDisk(root) == strings.TrimSpace(string(sig)) {
				complete = true
			}
		}
		if complete {
			if err := os.Rename(pending, s.path("cib.xml.sig")); err != nil {
				return fmt.Errorf("recover CIB signature: %w", err)
			}
		} else if err := os.Remove(pending); err != nil {
			return fmt.Errorf("discard pending CIB signature: %w", err)
		}
		syncDir(s.Dir)
	}
	ents, _ := os.ReadDir(s.Dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			os.Remove(s.path(e.Name()))
		}
	}
	return nil
}

// Load recovers, then reads and verifies cib.xml. When the primary copy is
// corrupt or fails its digest it tries the backups newest first, as the
// CIB manager's readCibXmlFile does, returning which file it used.
func (s *Store) Load() (*etree.Element, string, error) {
	if err := s.Recover(); err != nil {
		return nil, "", err
	}
	primary := s.path("cib.xml")
	root, err := ReadAndVerify(primary, "")
	if err == nil {
		return root, primary, nil
	}
	if errors.Is(err, ErrNoCIB) {
		return nil, "", err
	}
	for _, b := range s.backups() {
		if r, berr := ReadAndVerify(b, ""); berr == nil {
			return r, b, nil
		}
	}
	return nil, "", err
}

// backups lists cib-N.raw files, newest first.
func (s *Store) backups() []string {
	ents, _ := os.ReadDir(s.Dir)
	type bk struct {
		name string
		mod  time.Time
	}
	var list []bk
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, "cib-") && strings.HasSuffix(n, ".raw") {
			if info, err := e.Info(); err == nil {
				list = append(list, bk{n, info.ModTime()})
			}
		}
	}
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && list[j].mod.After(list[j-1].mod); j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
	out := make([]string, len(list))
	for i, b := range list {
		out[i] = s.path(b.name)
	}
	return out
}

// Write saves root as the new cib.xml (cib_file_write_with_digest): the
// existing file must still match its digest, it is archived as the next
// cib-N.raw, and the new version is written without its status section,
// with num_updates="0" and a fresh cib-last-written. root itself is not
// modified. It returns the digest written.
func (s *Store) Write(root *etree.Element) (string, error) {
	if err := s.Recover(); err != nil {
		return "", err
	}
	primary := s.path("cib.xml")
	if _, err := ReadAndVerify(primary, ""); err != nil && !errors.Is(err, ErrNoCIB) {
		return "", fmt.Errorf("refusing to overwrite: %w", err)
	}
	if err := s.backup(); err != nil {
		return "", fmt.Errorf("archive previous CIB: %w", err)
	}
	doc := root.Copy()
	SetAttr(doc, "num_updates", "0")
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	SetAttr(doc, "cib-last-written", LastWritten(now()))
	if st := FirstChild(doc, "status"); st != nil {
		doc.RemoveChild(st)
	}
	digest := DigestOnDisk(doc)

	tmpXML, err := s.writeTemp([]byte(Serialize(doc, true)))
	if err != nil {
		return "", err
	}
	tmpSig, err := s.writeTemp([]byte(digest))
	if err != nil {
		os.Remove(tmpXML)
		return "", err
	}
	if _, err := ReadAndVerify(tmpXML, tmpSig); err != nil {
		os.Remove(tmpXML)
		os.Remove(tmpSig)
		return "", fmt.Errorf("verify written CIB: %w", err)
	}
	if err := os.Rename(tmpSig, s.path(pendingName)); err != nil {
		return "", fmt.Errorf("stage CIB signature: %w", err)
	}
	if err := syncDir(s.Dir); err != nil {
		return "", err
	}
	if err := os.Rename(tmpXML, primary); err != nil {
		return "", fmt.Errorf("activate CIB: %w", err)
	}
	if err := os.Rename(s.path(pendingName), primary+".sig"); err != nil {
		return "", fmt.Errorf("activate CIB signature: %w", err)
	}
	return digest, syncDir(s.Dir)
}

func (s *Store) writeTemp(data []byte) (string, error) {
	f, err := os.CreateTemp(s.Dir, tmpPrefix+"*")
	if err != nil {
		return "", fmt.Errorf("create temporary CIB file: %w", err)
	}
	name := f.Name()
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(name)
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if s.Chown != nil {
		if err := f.Chown(s.Chown[0], s.Chown[1]); err != nil {
			return fail(err)
		}
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", fmt.Errorf("close %s: %w", name, err)
	}
	return name, nil
}

// backup hard-links the current pair to cib-N.raw(.sig) and advances
// cib.last (cib_file_backup).
func (s *Store) backup() error {
	seq := 0
	if b, err := os.ReadFile(s.path("cib.last")); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n >= 0 {
			seq = n
		}
	}
	bpath := s.path(fmt.Sprintf("cib-%d.raw", seq))
	os.Remove(bpath)
	os.Remove(bpath + ".sig")
	if err := os.Link(s.path("cib.xml"), bpath); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if err := os.Link(s.path("cib.xml.sig"), bpath+".sig"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	next := seq + 1
	if next >= seriesMax {
		next = 0
	}
	tmp, err := s.writeTemp([]byte(strconv.Itoa(next)))
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, s.path("cib.last")); err != nil {
		return err
	}
	if s.Chown != nil {
		for _, p := range []string{bpath, bpath + ".sig", s.path("cib.last")} {
			os.Chown(p, s.Chown[0], s.Chown[1])
		}
	}
	return syncDir(s.Dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s for sync: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// ErrCorruptFile wraps parse failures of cib.xml (pcmk_err_cib_corrupt).
var ErrCorruptFile error = ErrCIBCorrupt
