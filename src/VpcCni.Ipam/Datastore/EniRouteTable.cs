namespace VpcCni.Ipam;

/// <summary>
/// The host route table of an ENI (upstream <c>CalculateRouteTableId</c>, reference §4.1): the one rule used for the
/// datastore, the host routes and rules of the ENI, and what the daemon reports to the plugin and introspection.
/// </summary>
public static class EniRouteTable
{
    /// <summary>The kernel's main table: the primary ENI's pods route through it.</summary>
    public const int Main = 254;

    /// <summary>Tables of cards above 0 start here (10000 + 100 × card + device), as amazon-ec2-net-utils numbers them.</summary>
    public const int SecondaryCardBase = 10000;

    /// <summary>Card 0: main for the primary ENI, device + 1 otherwise; card c &gt; 0: 10000 + 100 × c + device.</summary>
    public static int For(int networkCard, int deviceIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(networkCard);
        ArgumentOutOfRangeException.ThrowIfNegative(deviceIndex);
        if (networkCard == 0)
        {
            return deviceIndex == 0 ? Main : deviceIndex + 1;
        }

        return SecondaryCardBase + (100 * networkCard) + deviceIndex;
    }
}
