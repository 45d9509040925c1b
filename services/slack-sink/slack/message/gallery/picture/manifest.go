package picture

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/png" // the pictures are PNGs
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Shot is the picture taken of a golden's page.
type Shot struct {
	Golden Golden
	// Entry is what Expect returned for the golden.
	Entry Entry
	PNG   []byte
}

// Save writes the pictures into dir (dir/<dir>/<case>.png), removes the
// pictures there of golden files that no longer exist, and then writes
// the manifest. browser names the browser that took the pictures.
func Save(dir, browser string, shots []Shot) error {
	m := Manifest{About: about, Browser: browser, Width: Width, Pictures: map[string]Entry{}}
	for _, s := range shots {
		key := s.Golden.Key()
		if _, dup := m.Pictures[key]; dup {
			return fmt.Errorf("saving pictures: two pictures of %s", key)
		}
		path := Path(dir, key)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("saving pictures: %w", err)
		}
		if err := os.WriteFile(path, s.PNG, 0o644); err != nil {
			return fmt.Errorf("saving picture: %w", err)
		}
		e := s.Entry
		e.PNG = digest(s.PNG)
		m.Pictures[key] = e
	}
	stale, err := pictureFiles(dir)
	if err != nil {
		return err
	}
	for key, path := range stale {
		if _, ok := m.Pictures[key]; !ok {
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("removing stale picture: %w", err)
			}
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return fmt.Errorf("encoding picture manifest: %w", err)
	}
	tmp := filepath.Join(dir, ManifestFile+".tmp")
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing picture manifest: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, ManifestFile)); err != nil {
		return fmt.Errorf("writing picture manifest: %w", err)
	}
	return nil
}

// pictureFiles returns the PNG files in dir's subdirectories, by key.
func pictureFiles(dir string) (map[string]string, error) {
	out := map[string]string{}
	for _, sub := range Subdirs {
		files, err := filepath.Glob(filepath.Join(dir, sub, "*.png"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			out[sub+"/"+strings.TrimSuffix(filepath.Base(f), ".png")] = f
		}
	}
	return out, nil
}

// Check compares the pictures in dir and their manifest with the golden
// files gs and with what the renderer draws of them now. It returns one
// problem per picture that is missing, out of date or left over (none
// when every picture is current), and an error only when a golden cannot
// be drawn at all.
func Check(dir string, gs []Golden) ([]string, error) {
	m, err := ReadManifest(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{fmt.Sprintf("%s: no picture manifest", filepath.Join(dir, ManifestFile))}, nil
	}
	if err != nil {
		return []string{err.Error()}, nil
	}
	var problems []string
	add := func(key, format string, args ...any) {
		problems = append(problems, key+": "+fmt.Sprintf(format, args...))
	}
	goldens := map[string]bool{}
	for _, g := range gs {
		key := g.Key()
		goldens[key] = true
		want, _, err := Expect(g)
		if err != nil {
			return nil, err
		}
		got, ok := m.Pictures[key]
		if !ok {
			add(key, "no picture")
			continue
		}
		if got.Message != want.Message {
			add(key, "the golden message changed since its picture was taken")
		}
		if got.Page != want.Page {
			add(key, "the drawing of the message (blockkit renderer or the console's message style) changed since its picture was taken")
		}
		b, err := os.ReadFile(Path(dir, key))
		if err != nil {
			add(key, "the picture file is missing (%v)", err)
			continue
		}
		if digest(b) != got.PNG {
			add(key, "%s is not the picture the manifest records", Path(dir, key))
			continue
		}
		if _, format, err := image.DecodeConfig(bytes.NewReader(b)); err != nil || format != "png" {
			add(key, "%s is not a PNG", Path(dir, key))
		}
	}
	for key := range m.Pictures {
		if !goldens[key] {
			add(key, "the manifest has a picture of a golden file that no longer exists")
		}
	}
	files, err := pictureFiles(dir)
	if err != nil {
		return nil, err
	}
	for key, path := range files {
		if _, ok := m.Pictures[key]; !ok && !goldens[key] {
			add(key, "%s is the picture of no golden file", path)
		}
	}
	sort.Strings(problems)
	return problems, nil
}
