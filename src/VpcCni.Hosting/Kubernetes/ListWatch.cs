namespace VpcCni.Hosting.Kubernetes;

/// <summary>The kind of a watch event (meta/v1 WatchEvent type).</summary>
internal enum WatchEventKind
{
    Added,
    Modified,
    Deleted,
    Bookmark,
    Error,
}

/// <summary>
/// One watch event, already decoded: the object (null for bookmarks and errors), its resource version (where the next
/// watch resumes) and, for <see cref="WatchEventKind.Error"/>, the Status code (410 = too old, relist) and message.
/// </summary>
internal readonly record struct WatchEvent<T>(WatchEventKind Kind, T? Object, string? ResourceVersion, int ErrorCode = 0, string? ErrorMessage = null)
    where T : class;

/// <summary>A consistent list and the resource version to watch from.</summary>
internal sealed record ListResult<T>(IReadOnlyList<T> Items, string ResourceVersion);

/// <summary>List and watch of one selection of objects (the seam the informer runs on; the tests script it).</summary>
internal interface IListWatchSource<T>
    where T : class
{
    /// <summary>What is watched, for log lines ("pods on node ip-10-0-0-1").</summary>
    string Description { get; }

    string KeyOf(T item);

    Task<ListResult<T>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Events after <paramref name="resourceVersion"/> until the server closes the stream (at most <paramref name="timeout"/>).</summary>
    IAsyncEnumerable<WatchEvent<T>> WatchAsync(string resourceVersion, TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>An API call answered with an error status (the body's message included).</summary>
internal sealed class KubernetesApiException(int statusCode, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;

    /// <summary>410 Gone: the resource version is too old to watch from; list again.</summary>
    public bool IsGone => StatusCode == 410;
}
