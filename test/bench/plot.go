package bench

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"maps"
	"math"
	"slices"
)

// Colours of the plot.
var (
	white     = color.RGBA{255, 255, 255, 255}
	black     = color.RGBA{0, 0, 0, 255}
	grey      = color.RGBA{200, 200, 200, 255}
	darkGrey  = color.RGBA{90, 90, 90, 255}
	blue      = color.RGBA{31, 119, 180, 255}
	orange    = color.RGBA{255, 127, 14, 255}
	green     = color.RGBA{44, 160, 44, 255}
	purple    = color.RGBA{148, 103, 189, 255}
	plotWidth = 1200
)

// series is one line of a line chart.
type series struct {
	name   string
	colour color.RGBA
	points []Point
}

// bar is one group of a bar chart: a label and one value per series.
type bar struct {
	label  string
	values []float64
}

// WritePlot draws the report as a PNG: the convergence curves of the
// operator and the floor, the manager's memory over time, and the
// requests per Service by verb during convergence.
func WritePlot(r *Report, path string) error {
	img := image.NewRGBA(image.Rect(0, 0, plotWidth, 1180))
	fillRect(img, img.Bounds(), white)
	title := fmt.Sprintf("wharf bench: N=%d services, M=%d nodes, %d unrelated pods, %d nodes per service",
		r.Scale.Services, r.Scale.Nodes, r.Scale.Pods, r.Scale.PoolSize)
	drawText(img, 20, 12, title, 2, black)

	phases := r.phases()
	var conv []series
	for _, ph := range phases {
		conv = append(conv, series{fmt.Sprintf("%s %.1fs", ph.name, ph.result.ConvergenceSeconds), ph.colour, ph.result.Curve})
	}
	convTitle := "services with ingress vs seconds since the first create"
	if r.ConvergenceRatio > 0 {
		convTitle += fmt.Sprintf(" (ratio %.2f)", r.ConvergenceRatio)
	}
	lineChart(img, image.Rect(90, 78, plotWidth-30, 430), convTitle, "seconds", "services", conv)

	if r.Operator != nil && r.Operator.Manager != nil {
		var rss, heap []Point
		for _, s := range r.Operator.Manager.Samples {
			rss = append(rss, Point{T: s.T, V: float64(s.RSSBytes) / (1 << 20)})
			heap = append(heap, Point{T: s.T, V: float64(s.HeapInuse) / (1 << 20)})
		}
		lineChart(img, image.Rect(90, 490, plotWidth-30, 800),
			fmt.Sprintf("manager memory (mib) vs seconds since the first create: peak rss %.1f", r.Operator.Manager.PeakRSSMiB),
			"seconds", "mib", []series{{"rss", blue, rss}, {"heap in use", green, heap}})
	}

	var groups []bar
	verbs := map[string]bool{}
	for _, ph := range phases {
		for v := range ph.result.Convergence.PerServiceByVerb {
			verbs[v] = true
		}
	}
	for _, v := range slices.Sorted(maps.Keys(verbs)) {
		g := bar{label: v}
		for _, ph := range phases {
			g.values = append(g.values, ph.result.Convergence.PerServiceByVerb[v])
		}
		groups = append(groups, g)
	}
	names := []series{}
	for _, ph := range phases {
		names = append(names, series{name: ph.name, colour: ph.colour})
	}
	barChart(img, image.Rect(90, 870, plotWidth-30, 1130), "requests per service during convergence, by verb", groups, names)

	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("encode the plot: %w", err)
	}
	return writeFileAtomic(path, buf.Bytes())
}

// lineChart draws series in area with axes, ticks, a title and a legend.
func lineChart(img *image.RGBA, area image.Rectangle, title, xLabel, yLabel string, ss []series) {
	drawText(img, area.Min.X, area.Min.Y-28, title, 2, black)
	xMin, xMax, yMax := math.Inf(1), math.Inf(-1), 0.0
	for _, s := range ss {
		for _, p := range s.points {
			xMin, xMax, yMax = math.Min(xMin, p.T), math.Max(xMax, p.T), math.Max(yMax, p.V)
		}
	}
	if math.IsInf(xMin, 1) {
		xMin, xMax = 0, 1
	}
	xMin = math.Min(xMin, 0)
	xStep := niceStep((xMax - xMin) / 8)
	yStep := niceStep(yMax / 5)
	xMin = math.Floor(xMin/xStep) * xStep
	xMax = math.Max(math.Ceil(xMax/xStep)*xStep, xMin+xStep)
	yMax = math.Max(math.Ceil(yMax/yStep)*yStep, yStep)
	px := func(x float64) int { return area.Min.X + int((x-xMin)/(xMax-xMin)*float64(area.Dx())) }
	py := func(y float64) int { return area.Max.Y - int(y/yMax*float64(area.Dy())) }
	for x := xMin; x <= xMax+xStep/2; x += xStep {
		line(img, px(x), area.Min.Y, px(x), area.Max.Y, grey, 1)
		label := trimFloat(x)
		drawText(img, px(x)-textWidth(label, 1)/2, area.Max.Y+6, label, 1, darkGrey)
	}
	for y := 0.0; y <= yMax+yStep/2; y += yStep {
		line(img, area.Min.X, py(y), area.Max.X, py(y), grey, 1)
		label := trimFloat(y)
		drawText(img, area.Min.X-8-textWidth(label, 1), py(y)-3, label, 1, darkGrey)
	}
	line(img, area.Min.X, area.Max.Y, area.Max.X, area.Max.Y, black, 1)
	line(img, area.Min.X, area.Min.Y, area.Min.X, area.Max.Y, black, 1)
	drawText(img, area.Max.X-textWidth(xLabel, 1), area.Max.Y+18, xLabel, 1, black)
	drawTextVertical(img, area.Min.X-70, area.Min.Y+area.Dy()/2+textWidth(yLabel, 1)/2, yLabel, 1, black)
	for i, s := range ss {
		for j := 1; j < len(s.points); j++ {
			a, b := s.points[j-1], s.points[j]
			line(img, px(a.T), py(a.V), px(b.T), py(b.V), s.colour, 2)
		}
		lx, ly := area.Min.X+12, area.Min.Y+10+i*20
		fillRect(img, image.Rect(lx, ly+3, lx+24, ly+7), s.colour)
		drawText(img, lx+32, ly, s.name, 1, black)
	}
}

// barChart draws groups of bars, one bar per series, with their values.
func barChart(img *image.RGBA, area image.Rectangle, title string, groups []bar, ss []series) {
	drawText(img, area.Min.X, area.Min.Y-28, title, 2, black)
	yMax := 0.0
	for _, g := range groups {
		for _, v := range g.values {
			yMax = math.Max(yMax, v)
		}
	}
	yStep := niceStep(yMax / 4)
	yMax = math.Max(math.Ceil(yMax/yStep)*yStep, yStep)
	py := func(y float64) int { return area.Max.Y - int(y/yMax*float64(area.Dy())) }
	for y := 0.0; y <= yMax+yStep/2; y += yStep {
		line(img, area.Min.X, py(y), area.Max.X, py(y), grey, 1)
		label := trimFloat(y)
		drawText(img, area.Min.X-8-textWidth(label, 1), py(y)-3, label, 1, darkGrey)
	}
	line(img, area.Min.X, area.Max.Y, area.Max.X, area.Max.Y, black, 1)
	if len(groups) > 0 {
		gw := area.Dx() / len(groups)
		bw := min(60, (gw-20)/max(1, len(ss)))
		for i, g := range groups {
			x0 := area.Min.X + i*gw + (gw-bw*len(g.values))/2
			for j, v := range g.values {
				r := image.Rect(x0+j*bw, py(v), x0+(j+1)*bw-4, area.Max.Y)
				fillRect(img, r, ss[j].colour)
				label := trimFloat(math.Round(v*100) / 100)
				drawText(img, r.Min.X+(r.Dx()-textWidth(label, 1))/2, r.Min.Y-11, label, 1, black)
			}
			drawText(img, area.Min.X+i*gw+(gw-textWidth(g.label, 1))/2, area.Max.Y+8, g.label, 1, black)
		}
	}
	for i, s := range ss {
		lx, ly := area.Max.X-160, area.Min.Y+10+i*20
		fillRect(img, image.Rect(lx, ly, lx+24, ly+10), s.colour)
		drawText(img, lx+32, ly+1, s.name, 1, black)
	}
}

// niceStep rounds a raw tick step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	exp := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*exp {
			return m * exp
		}
	}
	return 10 * exp
}

// line draws a segment of the given width (Bresenham).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color, width int) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		fillRect(img, image.Rect(x0-width/2, y0-width/2, x0-width/2+width, y0-width/2+width), c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

// plotPhase is one client's run as the plot shows it.
type plotPhase struct {
	name   string
	colour color.RGBA
	result *PhaseResult
}

// phases lists the runs the report holds: the operator, then the floors.
func (r *Report) phases() []plotPhase {
	var out []plotPhase
	for _, ph := range []plotPhase{{"operator", blue, r.Operator}, {"floor", orange, r.Floor}, {"floor+k3s writes", purple, r.FloorK3s}} {
		if ph.result != nil {
			out = append(out, ph)
		}
	}
	return out
}
