using VpcCni.Cloud;

namespace VpcCni.Aws;

/// <summary>
/// An <see cref="ICloudRequestPriority"/> found when first asked: the pool that knows whether pods wait is built on the
/// provider that asks, so it cannot be handed over when the provider is built. None registered: every request is urgent.
/// </summary>
internal sealed class DeferredRequestPriority(Func<ICloudRequestPriority?> resolve) : ICloudRequestPriority
{
    // PublicationOnly: a resolution that throws (a host shutting down) is not cached; the next request asks again.
    private readonly Lazy<ICloudRequestPriority?> _priority = new(resolve, LazyThreadSafetyMode.PublicationOnly);

    public bool CanWait => _priority.Value?.CanWait ?? false;
}
