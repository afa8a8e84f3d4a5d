using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace VpcCni.Hosting.Daemon;

/// <summary>
/// Counts per label combination, read by an observable instrument at each collection. Unlike <see cref="Counter{T}"/>,
/// nothing recorded before an exporter listens is lost, and series created up front (at 0) are exported from the first
/// scrape, as upstream's label-less counters and pre-created series are.
/// </summary>
internal sealed class LabeledCounts
{
    private readonly string[] _labels;
    private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);

    public LabeledCounts(params string[] labels) => _labels = labels;

    /// <summary>Creates the series at 0 if it does not exist.</summary>
    public void Touch(params string[] values) => Get(values);

    public void Add(long delta, params string[] values) => Interlocked.Add(ref Get(values).Value, delta);

    public long Read(params string[] values) => _series.TryGetValue(Key(values), out var s) ? Interlocked.Read(ref s.Value) : 0;

    public IEnumerable<Measurement<long>> Observe() =>
        [.. _series.Values.Select(s => new Measurement<long>(Interlocked.Read(ref s.Value), s.Tags))];

    private Series Get(string[] values)
    {
        if (values.Length != _labels.Length)
        {
            throw new ArgumentException($"expected {_labels.Length} label values", nameof(values));
        }

        return _series.GetOrAdd(Key(values), static (_, arg) =>
            new Series([.. arg.Labels.Select((name, i) => new KeyValuePair<string, object?>(name, arg.Values[i]))]), (Labels: _labels, Values: values));
    }

    private static string Key(string[] values) => string.Join('\0', values);

    private sealed class Series(KeyValuePair<string, object?>[] tags)
    {
        public long Value;

        public KeyValuePair<string, object?>[] Tags { get; } = tags;
    }
}
