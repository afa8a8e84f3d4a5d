using System.Runtime.CompilerServices;
using System.Threading.Channels;
using VpcCni.Hosting.Kubernetes;

namespace VpcCni.Hosting.Tests.Kubernetes;

/// <summary>An in-memory list/watch: a fixed list (or a failure), then the events the test pushes.</summary>
internal sealed class FakeListWatch<T>(Func<T, string> key, IReadOnlyList<T> items, bool failList = false) : IListWatchSource<T>
    where T : class
{
    private readonly Channel<WatchEvent<T>> _events = Channel.CreateUnbounded<WatchEvent<T>>();

    public string Description => "fake";

    public string KeyOf(T item) => key(item);

    public Task<ListResult<T>> ListAsync(CancellationToken cancellationToken) =>
        failList ? Task.FromException<ListResult<T>>(new HttpRequestException("connection refused")) : Task.FromResult(new ListResult<T>(items, "1"));

    public void Push(WatchEventKind kind, T item) => _events.Writer.TryWrite(new WatchEvent<T>(kind, item, "2"));

    public async IAsyncEnumerable<WatchEvent<T>> WatchAsync(string resourceVersion, TimeSpan timeout, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            yield return await _events.Reader.ReadAsync(cancellationToken);
        }
    }
}
