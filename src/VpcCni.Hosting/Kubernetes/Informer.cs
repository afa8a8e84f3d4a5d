using Microsoft.Extensions.Logging;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>Timing of an <see cref="Informer{T}"/>.</summary>
internal sealed record InformerTiming
{
    /// <summary>A full relist this often, even while the watch is healthy (repairs any drift).</summary>
    public TimeSpan Resync { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Asked of the server for each watch (it closes the stream then; the informer watches again).</summary>
    public TimeSpan WatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>First back-off after a failure; doubles up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// An informer in the client-go sense, for one selection of objects: list, then watch from the list's resource
/// version, keeping a local cache. A watch the server closes is resumed from the last resource version seen; a 410
/// (Gone, as a status or an ERROR event) relists at once; any other failure backs off exponentially (on the
/// <see cref="TimeProvider"/>) and relists. Every <see cref="InformerTiming.Resync"/> it relists anyway. The API being
/// down is logged once when it happens (and once when it is back); the cache keeps its last content meanwhile.
/// </summary>
internal sealed class Informer<T>
    where T : class
{
    /// <summary>How long after the requested watch timeout the client gives up on a stream the server did not close.</summary>
    internal static readonly TimeSpan WatchGrace = TimeSpan.FromSeconds(1);

    private readonly IListWatchSource<T> _source;
    private readonly InformerTiming _timing;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Dictionary<string, T> _items = new(StringComparer.Ordinal);
    private bool _down;
    private string? _lastFailure;

    public Informer(IListWatchSource<T> source, InformerTiming timing, TimeProvider timeProvider, ILogger logger)
    {
        _source = source;
        _timing = timing;
        _time = timeProvider;
        _logger = logger;
    }

    /// <summary>
    /// Called after every change of the cache (list or event), on the informer's loop; not for an event whose object
    /// equals the cached one (<see cref="EqualityComparer{T}.Default"/>: a record's fields).
    /// </summary>
    public Action<Informer<T>>? Changed { get; init; }

    /// <summary>Completes after the first successful list.</summary>
    public Task Synced => _synced.Task;

    public bool HasSynced => _synced.Task.IsCompleted;

    /// <summary>False while the last list or watch failed.</summary>
    public bool IsConnected
    {
        get
        {
            lock (_lock)
            {
                return HasSynced && !_down;
            }
        }
    }

    /// <summary>The resource version the next watch resumes from (diagnostics, tests).</summary>
    public string? ResourceVersion { get; private set; }

    /// <summary>Lists made (the first and every relist).</summary>
    public int Lists { get; private set; }

    public bool TryGet(string key, out T item)
    {
        lock (_lock)
        {
            return _items.TryGetValue(key, out item!);
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _items.Count;
            }
        }
    }

    public IReadOnlyList<T> Items
    {
        get
        {
            lock (_lock)
            {
                return [.. _items.Values];
            }
        }
    }

    /// <summary>Why the last list or watch failed (a 403 names the missing permission); null while it works.</summary>
    public string? LastFailure
    {
        get
        {
            lock (_lock)
            {
                return _lastFailure;
            }
        }
    }

    /// <summary>Runs until cancelled; never throws otherwise.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await ListAndWatchAsync(() => failures = 0, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (KubernetesApiException ex) when (ex.IsGone)
            {
                KubernetesLog.LogGone(_logger, _source.Description);
            }
            catch (Exception ex)
            {
                failures++;
                var delay = Backoff(failures);
                MarkDown(ex, delay);
                try
                {
                    await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task ListAndWatchAsync(Action onListed, CancellationToken cancellationToken)
    {
        var list = await _source.ListAsync(cancellationToken).ConfigureAwait(false);
        Replace(list.Items);
        Lists++;
        ResourceVersion = list.ResourceVersion;
        onListed();
        MarkUp();
        // Applied before Synced completes: whoever waits for the first list (the start's restore) sees its effects
        // (e.g. the node's max pods), not a moment before them.
        Changed?.Invoke(this);
        _synced.TrySetResult();

        var relistAt = _time.GetUtcNow() + _timing.Resync;
        while (true)
        {
            var left = relistAt - _time.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                return;
            }

            var watchStarted = _time.GetTimestamp();
            var events = 0;
            var timeout = left < _timing.WatchTimeout ? left : _timing.WatchTimeout;
            // The server closes the stream at timeoutSeconds; a client-side deadline shortly after covers a server (or
            // a proxy) that does not, so a silent connection cannot hold off the resync.
            using var deadline = new CancellationTokenSource(timeout + WatchGrace, _time);
            using var watch = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
            try
            {
                await foreach (var e in _source.WatchAsync(ResourceVersion!, timeout, watch.Token).ConfigureAwait(false))
                {
                    events++;
                    if (e.Kind == WatchEventKind.Error)
                    {
                        throw new KubernetesApiException(e.ErrorCode, $"watch of {_source.Description} ended with an error event: {e.ErrorCode} {e.ErrorMessage}");
                    }

                    Apply(e);
                    if (e.ResourceVersion is { Length: > 0 } rv)
                    {
                        ResourceVersion = rv;
                    }
                }
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                events = Math.Max(events, 1);
            }

            // Closed by the server (its timeout, a restart, a load balancer): resume from the last version seen. A
            // stream that closes at once without a single event is treated as a failure so that it cannot spin.
            if (events == 0 && _time.GetElapsedTime(watchStarted) < _timing.MinBackoff)
            {
                throw new KubernetesApiException(0, $"watch of {_source.Description} closed immediately");
            }

            KubernetesLog.LogWatchClosed(_logger, _source.Description, ResourceVersion);
        }
    }

    private void Replace(IReadOnlyList<T> items)
    {
        var next = new Dictionary<string, T>(items.Count, StringComparer.Ordinal);
        foreach (var item in items)
        {
            next[_source.KeyOf(item)] = item;
        }

        lock (_lock)
        {
            _items = next;
        }
    }

    private void Apply(WatchEvent<T> e)
    {
        if (e.Object is not { } item)
        {
            return;
        }

        var key = _source.KeyOf(item);
        lock (_lock)
        {
            if (e.Kind == WatchEventKind.Deleted)
            {
                _items.Remove(key);
            }
            else if (_items.TryGetValue(key, out var cached) && EqualityComparer<T>.Default.Equals(cached, item))
            {
                // An update of a field the cache does not keep (a node's status under the fleet's name-and-age view):
                // nothing a reader could see changed, so no Changed.
                _items[key] = item;
                return;
            }
            else
            {
                _items[key] = item;
            }
        }

        Changed?.Invoke(this);
    }

    private TimeSpan Backoff(int failures)
    {
        var factor = Math.Pow(2, Math.Min(failures - 1, 16));
        var delay = TimeSpan.FromTicks((long)Math.Min(_timing.MinBackoff.Ticks * factor, _timing.MaxBackoff.Ticks));
        return delay;
    }

    private void MarkDown(Exception ex, TimeSpan delay)
    {
        bool first;
        lock (_lock)
        {
            first = !_down;
            _down = true;
            _lastFailure = ex.Message;
        }

        if (first)
        {
            if (HasSynced)
            {
                KubernetesLog.LogDown(_logger, _source.Description, ex.Message, delay.TotalSeconds);
            }
            else
            {
                KubernetesLog.LogDownAtStart(_logger, _source.Description, ex.Message, delay.TotalSeconds);
            }
        }
        else
        {
            KubernetesLog.LogStillDown(_logger, _source.Description, ex.Message, delay.TotalSeconds);
        }
    }

    private void MarkUp()
    {
        bool wasDown;
        lock (_lock)
        {
            wasDown = _down;
            _down = false;
            _lastFailure = null;
        }

        if (wasDown)
        {
            KubernetesLog.LogBack(_logger, _source.Description);
        }
    }
}
