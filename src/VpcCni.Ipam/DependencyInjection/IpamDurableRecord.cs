using Microsoft.Extensions.Options;
using VpcCni.Ipam.Durable;

namespace VpcCni.Ipam;

/// <summary>
/// The container's one durable allocation record, opened from <see cref="IpamOptions.BackingStorePath"/> when the
/// engine is built (options are only known then) and closed with the container.
/// </summary>
internal sealed class IpamDurableRecord(IOptions<IpamOptions> options) : IAsyncDisposable, IDisposable
{
    private readonly Lazy<DurableAllocationStore?> _store = new(() =>
        options.Value.BackingStorePath is { } path && !options.Value.EnableIPv6 ? new DurableAllocationStore(path) : null);

    /// <summary>The record, or null when the engine keeps allocations in memory only.</summary>
    public DurableAllocationStore? Store => _store.Value;

    public ValueTask DisposeAsync() => _store.IsValueCreated && _store.Value is { } store ? store.DisposeAsync() : ValueTask.CompletedTask;

    public void Dispose()
    {
        if (_store.IsValueCreated)
        {
            _store.Value?.Dispose();
        }
    }
}
