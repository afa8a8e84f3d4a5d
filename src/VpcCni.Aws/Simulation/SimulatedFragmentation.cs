using System.Net;

namespace VpcCni.Aws.Simulation;

/// <summary>The addresses <see cref="SimulatedVpc.FragmentSubnet"/> took to leave a subnet without a free /28; undo with
/// <see cref="Defragment"/> or by disposing.</summary>
public sealed class SimulatedFragmentation : IDisposable
{
    private readonly Action _undo;
    private int _undone;

    internal SimulatedFragmentation(string subnetId, IReadOnlyList<IPNetwork> addresses, Action undo)
    {
        SubnetId = subnetId;
        Addresses = addresses;
        _undo = undo;
    }

    public string SubnetId { get; }

    /// <summary>One address in each /28 block that was free.</summary>
    public IReadOnlyList<IPNetwork> Addresses { get; }

    /// <summary>Gives the addresses back (once): the blocks are free /28s again unless something else took them since.</summary>
    public void Defragment()
    {
        if (Interlocked.Exchange(ref _undone, 1) == 0)
        {
            _undo();
        }
    }

    public void Dispose() => Defragment();
}
