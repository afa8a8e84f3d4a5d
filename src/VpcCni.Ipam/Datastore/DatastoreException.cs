namespace VpcCni.Ipam;

/// <summary>A datastore operation was refused; the message is upstream's text where upstream has one.</summary>
internal sealed class DatastoreException(string message) : InvalidOperationException(message)
{
    internal const string DuplicateEni = "data store: duplicate ENI";
    internal const string IPAlreadyInStore = "datastore: IP already in data store";
    internal const string UnknownIP = "datastore: unknown IP";
    internal const string IPInUse = "datastore: IP is used and can not be deleted";
    internal const string EniInUse = "datastore: ENI is used and can not be deleted";
    internal const string UnknownEni = "datastore: unknown ENI";
}
