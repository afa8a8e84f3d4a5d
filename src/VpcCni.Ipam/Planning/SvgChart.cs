using System.Globalization;
using System.Text;

namespace VpcCni.Ipam;

/// <summary>Draws simulation reports as an SVG line chart: pool size (solid), idle addresses (dashed) and waiting pods (dotted) over time, one colour per policy.</summary>
public static class SvgChart
{
    private static readonly string[] Colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];

    public static string Render(string title, IReadOnlyList<SimulationReport> reports, int width = 960, int height = 420)
    {
        ArgumentNullException.ThrowIfNull(reports);
        const int left = 60, right = 220, top = 40, bottom = 50;
        var plotW = width - left - right;
        var plotH = height - top - bottom;
        var maxT = Math.Max(1, reports.SelectMany(r => r.Samples).Select(s => s.T).DefaultIfEmpty(1).Max());
        var maxY = Math.Max(1, reports.SelectMany(r => r.Samples).Select(s => Math.Max(s.PoolSize, Math.Max(s.Idle, s.Waiting))).DefaultIfEmpty(1).Max());
        string X(double t) => (left + t / maxT * plotW).ToString("0.#", CultureInfo.InvariantCulture);
        string Y(double v) => (top + plotH - v / maxY * plotH).ToString("0.#", CultureInfo.InvariantCulture);

        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        sb.Append(CultureInfo.InvariantCulture, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"24\" font-size=\"16\">{Escape(title)}</text>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{top + plotH}\" x2=\"{left + plotW}\" y2=\"{top + plotH}\" stroke=\"black\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{top + plotH}\" stroke=\"black\"/>\n");
        for (var i = 0; i <= 5; i++)
        {
            var v = maxY * i / 5.0;
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 6}\" y=\"{Y(v)}\" text-anchor=\"end\">{v:0}</text>\n");
            var t = maxT * i / 5.0;
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{X(t)}\" y=\"{top + plotH + 18}\" text-anchor=\"middle\">{t:0}s</text>\n");
        }

        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{left + plotW / 2}\" y=\"{height - 10}\" text-anchor=\"middle\">time (s)</text>\n");
        for (var r = 0; r < reports.Count; r++)
        {
            var color = Colors[r % Colors.Length];
            var report = reports[r];
            Line(sb, report.Samples.Select(s => (s.T, (double)s.PoolSize)), color, null, X, Y);
            Line(sb, report.Samples.Select(s => (s.T, (double)s.Idle)), color, "6,4", X, Y);
            Line(sb, report.Samples.Select(s => (s.T, (double)s.Waiting)), color, "2,3", X, Y);
            var ly = top + 10 + r * 64;
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{left + plotW + 14}\" y=\"{ly}\" fill=\"{color}\">{Escape(report.Policy)}</text>\n");
            Legend(sb, left + plotW + 14, ly + 14, color, null, "pool size");
            Legend(sb, left + plotW + 14, ly + 28, color, "6,4", "idle addresses");
            Legend(sb, left + plotW + 14, ly + 42, color, "2,3", "waiting pods");
        }

        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static void Line(StringBuilder sb, IEnumerable<(double T, double V)> points, string color, string? dash, Func<double, string> x, Func<double, string> y)
    {
        sb.Append("<polyline fill=\"none\" stroke=\"").Append(color).Append("\" stroke-width=\"1.5\"");
        if (dash is not null)
        {
            sb.Append(" stroke-dasharray=\"").Append(dash).Append('"');
        }

        sb.Append(" points=\"");
        foreach (var (t, v) in points)
        {
            sb.Append(x(t)).Append(',').Append(y(v)).Append(' ');
        }

        sb.Append("\"/>\n");
    }

    private static void Legend(StringBuilder sb, int x, int y, string color, string? dash, string label)
    {
        sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x}\" y1=\"{y - 4}\" x2=\"{x + 24}\" y2=\"{y - 4}\" stroke=\"{color}\" stroke-width=\"1.5\"{(dash is null ? "" : $" stroke-dasharray=\"{dash}\"")}/>");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{x + 30}\" y=\"{y}\">{label}</text>\n");
    }

    private static string Escape(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);
}
