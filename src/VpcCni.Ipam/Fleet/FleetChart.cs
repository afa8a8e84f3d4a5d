using System.Globalization;
using System.Text;

namespace VpcCni.Ipam.Fleet;

/// <summary>The fleet run as an SVG: pods running over time (top) and throttled EC2 calls per second (bottom), one colour per policy.</summary>
internal static class FleetChart
{
    private static readonly string[] Colors = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e"];

    public static string Render(string title, IReadOnlyList<FleetRun> runs, int width = 960, int panelHeight = 260)
    {
        ArgumentNullException.ThrowIfNull(runs);
        const int left = 70, right = 170, top = 40, gap = 50, bottom = 40;
        var height = top + (2 * panelHeight) + gap + bottom;
        var plotW = width - left - right;
        var maxT = Math.Max(1, runs.SelectMany(r => r.Samples).Select(s => s.T).DefaultIfEmpty(1).Max());
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        sb.Append(CultureInfo.InvariantCulture, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"24\" font-size=\"16\">{Escape(title)}</text>\n");
        Panel(sb, runs, "pods running", s => s.PodsRunning, left, top, plotW, panelHeight, maxT);
        Panel(sb, runs, "throttled EC2 calls / s", s => s.ThrottledPerSecond, left, top + panelHeight + gap, plotW, panelHeight, maxT);
        for (var r = 0; r < runs.Count; r++)
        {
            var y = top + 10 + (r * 20);
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left + plotW + 14}\" y1=\"{y - 4}\" x2=\"{left + plotW + 38}\" y2=\"{y - 4}\" stroke=\"{Colors[r % Colors.Length]}\" stroke-width=\"2\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{left + plotW + 44}\" y=\"{y}\">{Escape(runs[r].Result.Policy)}</text>\n");
        }

        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{left + (plotW / 2)}\" y=\"{height - 8}\" text-anchor=\"middle\">seconds since the pods started arriving</text>\n");
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static void Panel(StringBuilder sb, IReadOnlyList<FleetRun> runs, string label, Func<FleetSample, double> value, int left, int top, int plotW, int plotH, double maxT)
    {
        var maxY = Math.Max(1, runs.SelectMany(r => r.Samples).Select(value).DefaultIfEmpty(1).Max());
        string X(double t) => (left + (t / maxT * plotW)).ToString("0.#", CultureInfo.InvariantCulture);
        string Y(double v) => (top + plotH - (v / maxY * plotH)).ToString("0.#", CultureInfo.InvariantCulture);
        sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{top + plotH}\" x2=\"{left + plotW}\" y2=\"{top + plotH}\" stroke=\"black\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{top + plotH}\" stroke=\"black\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{left + 6}\" y=\"{top - 6}\">{Escape(label)}</text>\n");
        for (var i = 0; i <= 4; i++)
        {
            var v = maxY * i / 4.0;
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 6}\" y=\"{Y(v)}\" text-anchor=\"end\">{v:0.#}</text>\n");
            var t = maxT * i / 4.0;
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{X(t)}\" y=\"{top + plotH + 16}\" text-anchor=\"middle\">{t:0}s</text>\n");
        }

        for (var r = 0; r < runs.Count; r++)
        {
            sb.Append("<polyline fill=\"none\" stroke=\"").Append(Colors[r % Colors.Length]).Append("\" stroke-width=\"1.5\" points=\"");
            foreach (var s in runs[r].Samples)
            {
                sb.Append(X(s.T)).Append(',').Append(Y(value(s))).Append(' ');
            }

            sb.Append("\"/>\n");
        }
    }

    private static string Escape(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);
}
