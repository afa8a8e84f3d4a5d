namespace VpcCni.Cloud;

/// <summary>A node's place in the fleet that shares a cloud account: its index in an order every node derives alike
/// (0-based) and the fleet's size.</summary>
/// <param name="Rank">This node's index, 0 to <paramref name="Size"/> − 1.</param>
/// <param name="Size">How many nodes share the account (at least 1).</param>
public readonly record struct FleetPosition(int Rank, int Size)
{
    /// <summary>Whether the position is usable: a size of at least 1 and a rank inside it.</summary>
    public bool IsValid => Size >= 1 && Rank >= 0 && Rank < Size;
}
