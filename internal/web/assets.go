package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
)

// Assets are embedded files (stylesheets, scripts, images) served under
// URLs that carry a hash of their content, so a browser may keep them for
// good and still gets a changed file at once.
type Assets struct {
	prefix string
	files  map[string][]byte
	hashes map[string]string
}

// NewAssets reads every file of directory dir of fsys, to be served at
// prefix + name (prefix ends with a slash, such as "/assets/").
func NewAssets(fsys fs.FS, dir, prefix string) (*Assets, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	a := &Assets{prefix: prefix, files: map[string][]byte{}, hashes: map[string]string{}}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		a.files[e.Name()], a.hashes[e.Name()] = b, hex.EncodeToString(sum[:6])
	}
	return a, nil
}

// MustAssets is NewAssets for files embedded in the binary, which cannot
// fail to read.
func MustAssets(fsys fs.FS, dir, prefix string) *Assets {
	a, err := NewAssets(fsys, dir, prefix)
	if err != nil {
		panic(err)
	}
	return a
}

// Prefix is the path the assets are served under.
func (a *Assets) Prefix() string { return a.prefix }

// URL is the asset's URL with its content hash; an unknown name is an
// error (a template that names one fails to render).
func (a *Assets) URL(name string) (string, error) {
	h, ok := a.hashes[name]
	if !ok {
		return "", fmt.Errorf("no asset %q", name)
	}
	return a.prefix + name + "?v=" + h, nil
}

// Has reports whether name is an asset.
func (a *Assets) Has(name string) bool { _, ok := a.files[name]; return ok }

// Serve writes the asset name: cached for good when the URL carries its
// current hash, revalidated (ETag) otherwise; 404 for an unknown name.
func (a *Assets) Serve(w http.ResponseWriter, r *http.Request, name string) {
	b, ok := a.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := a.hashes[name]
	if r.URL.Query().Get("v") == h {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("ETag", `"`+h+`"`)
	w.Header().Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	if r.Header.Get("If-None-Match") == `"`+h+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(b)
}

// ServeHTTP serves the asset the request's {name} path value names.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.Serve(w, r, r.PathValue("name"))
}
