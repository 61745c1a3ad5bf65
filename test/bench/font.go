package bench

import (
	"image"
	"image/color"
	"strings"
)

// glyphs is a 5x7 bitmap font for the plot's labels: digits, capital
// letters (lower case is drawn as upper case) and some punctuation. Each
// glyph is 7 rows of 5 pixels, '1' set.
var glyphs = map[rune]string{
	'0': "01110 10001 10011 10101 11001 10001 01110",
	'1': "00100 01100 00100 00100 00100 00100 01110",
	'2': "01110 10001 00001 00010 00100 01000 11111",
	'3': "11111 00010 00100 00010 00001 10001 01110",
	'4': "00010 00110 01010 10010 11111 00010 00010",
	'5': "11111 10000 11110 00001 00001 10001 01110",
	'6': "00110 01000 10000 11110 10001 10001 01110",
	'7': "11111 00001 00010 00100 01000 01000 01000",
	'8': "01110 10001 10001 01110 10001 10001 01110",
	'9': "01110 10001 10001 01111 00001 00010 01100",
	'A': "01110 10001 10001 11111 10001 10001 10001",
	'B': "11110 10001 10001 11110 10001 10001 11110",
	'C': "01110 10001 10000 10000 10000 10001 01110",
	'D': "11100 10010 10001 10001 10001 10010 11100",
	'E': "11111 10000 10000 11110 10000 10000 11111",
	'F': "11111 10000 10000 11110 10000 10000 10000",
	'G': "01110 10001 10000 10111 10001 10001 01111",
	'H': "10001 10001 10001 11111 10001 10001 10001",
	'I': "01110 00100 00100 00100 00100 00100 01110",
	'J': "00111 00010 00010 00010 00010 10010 01100",
	'K': "10001 10010 10100 11000 10100 10010 10001",
	'L': "10000 10000 10000 10000 10000 10000 11111",
	'M': "10001 11011 10101 10101 10001 10001 10001",
	'N': "10001 10001 11001 10101 10011 10001 10001",
	'O': "01110 10001 10001 10001 10001 10001 01110",
	'P': "11110 10001 10001 11110 10000 10000 10000",
	'Q': "01110 10001 10001 10001 10101 10010 01101",
	'R': "11110 10001 10001 11110 10100 10010 10001",
	'S': "01111 10000 10000 01110 00001 00001 11110",
	'T': "11111 00100 00100 00100 00100 00100 00100",
	'U': "10001 10001 10001 10001 10001 10001 01110",
	'V': "10001 10001 10001 10001 10001 01010 00100",
	'W': "10001 10001 10001 10101 10101 10101 01010",
	'X': "10001 10001 01010 00100 01010 10001 10001",
	'Y': "10001 10001 10001 01010 00100 00100 00100",
	'Z': "11111 00001 00010 00100 01000 10000 11111",
	' ': "00000 00000 00000 00000 00000 00000 00000",
	'.': "00000 00000 00000 00000 00000 01100 01100",
	',': "00000 00000 00000 00000 01100 00100 01000",
	':': "00000 01100 01100 00000 01100 01100 00000",
	'-': "00000 00000 00000 11111 00000 00000 00000",
	'/': "00001 00001 00010 00100 01000 10000 10000",
	'(': "00010 00100 01000 01000 01000 00100 00010",
	')': "01000 00100 00010 00010 00010 00100 01000",
	'%': "11000 11001 00010 00100 01000 10011 00011",
	'=': "00000 00000 11111 00000 11111 00000 00000",
	'<': "00010 00100 01000 10000 01000 00100 00010",
	'>': "01000 00100 00010 00001 00010 00100 01000",
	'_': "00000 00000 00000 00000 00000 00000 11111",
	'+': "00000 00100 00100 11111 00100 00100 00000",
}

// glyphW and glyphH are a glyph's size in font pixels; advance includes
// the space between glyphs.
const (
	glyphW  = 5
	glyphH  = 7
	advance = 6
)

// textWidth returns the width in image pixels of s drawn at scale.
func textWidth(s string, scale int) int { return len([]rune(s)) * advance * scale }

// drawText draws s with its top-left corner at (x, y), each font pixel a
// scale x scale square. Unknown characters are drawn as spaces.
func drawText(img *image.RGBA, x, y int, s string, scale int, c color.Color) {
	for _, r := range strings.ToUpper(s) {
		g, ok := glyphs[r]
		if ok {
			rows := strings.Fields(g)
			for gy, row := range rows {
				for gx, bit := range row {
					if bit == '1' {
						fillRect(img, image.Rect(x+gx*scale, y+gy*scale, x+(gx+1)*scale, y+(gy+1)*scale), c)
					}
				}
			}
		}
		x += advance * scale
	}
}

// drawTextVertical draws s rotated a quarter turn counter-clockwise, its
// baseline along x, reading bottom to top from (x, y).
func drawTextVertical(img *image.RGBA, x, y int, s string, scale int, c color.Color) {
	for _, r := range strings.ToUpper(s) {
		g, ok := glyphs[r]
		if ok {
			rows := strings.Fields(g)
			for gy, row := range rows {
				for gx, bit := range row {
					if bit == '1' {
						px, py := x+gy*scale, y-(gx+1)*scale
						fillRect(img, image.Rect(px, py, px+scale, py+scale), c)
					}
				}
			}
		}
		y -= advance * scale
	}
}

func fillRect(img *image.RGBA, r image.Rectangle, c color.Color) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.Set(x, y, c)
		}
	}
}
