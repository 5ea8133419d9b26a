package pages

import (
	"embed"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/authmail/authmail/internal/web"
)

//go:embed assets/*
var assetFiles embed.FS

// assetPrefix is where the assets are served.
const assetPrefix = "/assets/"

// themeAsset is the stylesheet made from the tenant's colours; it is not a
// file.
const themeAsset = "theme.css"

// assets are the embedded stylesheet and script, under content-hashed URLs.
var assets = web.MustAssets(assetFiles, "assets", assetPrefix)

// assetURL is an embedded asset's URL with its content hash, so a browser
// may keep it forever and still gets a changed one at once.
func assetURL(name string) (string, error) { return assets.URL(name) }

// asset serves an embedded asset, or the theme stylesheet.
func (s *Server) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == themeAsset {
		serveTheme(w, r)
		return
	}
	assets.Serve(w, r, name)
}

// hexColor is a colour as the settings hold it, #rrggbb.
var hexColor = regexp.MustCompile(`^#?([0-9a-fA-F]{6})$`)

// defaultPrimary and defaultDarkPrimary are the colours of a tenant that
// set none (the sign-in experience's defaults).
const (
	defaultPrimary     = "2563eb"
	defaultDarkPrimary = "60a5fa"
)

// themeURL is the theme stylesheet's URL for the tenant's primary colour
// and, when dark mode is on, its dark one. The colours are the URL, so the
// stylesheet needs no lookup and may be cached for good.
func themeURL(primary, darkPrimary string, darkMode bool) string {
	q := "p=" + colorParam(primary, defaultPrimary)
	if darkMode {
		q += "&d=" + colorParam(darkPrimary, defaultDarkPrimary)
	}
	return assetPrefix + themeAsset + "?" + q
}

func colorParam(c, def string) string {
	if m := hexColor.FindStringSubmatch(c); m != nil {
		return strings.ToLower(m[1])
	}
	return def
}

// serveTheme writes the custom properties the stylesheet reads: the
// primary colour and the text colour that reads best on it (black or
// white, whichever contrasts more), and their dark mode twins.
func serveTheme(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	primary := colorParam(q.Get("p"), defaultPrimary)
	var b strings.Builder
	fmt.Fprintf(&b, ":root{--primary:#%s;--on-primary:%s}\n", primary, onColor(primary))
	if d := q.Get("d"); d != "" {
		dark := colorParam(d, defaultDarkPrimary)
		fmt.Fprintf(&b, "@media (prefers-color-scheme: dark){:root.dark-mode{--primary:#%s;--on-primary:%s}}\n", dark, onColor(dark))
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write([]byte(b.String()))
}

// onColor is the text colour for a background of colour hex (rrggbb):
// black or white, by WCAG contrast.
func onColor(hex string) string {
	if contrast(luminance(hex), 1) >= contrast(luminance(hex), 0) {
		return "#ffffff"
	}
	return "#000000"
}

// luminance is WCAG's relative luminance of rrggbb.
func luminance(hex string) float64 {
	var l float64
	for i, weight := range []float64{0.2126, 0.7152, 0.0722} {
		v, _ := strconv.ParseUint(hex[2*i:2*i+2], 16, 8)
		c := float64(v) / 255
		if c <= 0.04045 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		l += weight * c
	}
	return l
}

// contrast is WCAG's contrast ratio of two luminances.
func contrast(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	return (a + 0.05) / (b + 0.05)
}
