namespace VpcCni.Ipam.Tests.Datastore;

public sealed class EniRouteTableTests
{
    [Theory]
    [InlineData(0, 0, 254)]
    [InlineData(0, 1, 2)]
    [InlineData(0, 14, 15)]
    [InlineData(1, 0, 10100)]
    [InlineData(1, 2, 10102)]
    [InlineData(3, 7, 10307)]
    public void For_CardAndDevice_MatchesUpstreamNumbering(int card, int device, int table) =>
        EniRouteTable.For(card, device).Should().Be(table);
}
