using System.Net;

namespace VpcCni.Aws.Emulation;

/// <summary>Stops and closes an <see cref="HttpListener"/> without failing a disposal.</summary>
internal static class HttpListenerShutdown
{
    /// <remarks>
    /// The managed listener re-resolves its port's endpoint while removing its prefixes, and binds the port again if
    /// that endpoint is already gone; when another listener (or anything else) has the freed port by then, Stop/Close
    /// throw "Address already in use" although there is nothing left to release. Seen with emulators started and
    /// disposed in parallel tests.
    /// </remarks>
    /// <summary>Stops accepting (ends a pending GetContextAsync), before the accept loop is awaited.</summary>
    public static void Stop(HttpListener listener)
    {
        try
        {
            if (listener.IsListening)
            {
                listener.Stop();
            }
        }
        catch (HttpListenerException)
        {
        }
    }

    /// <summary>Releases the listener once its accept loop has ended.</summary>
    public static void Close(HttpListener listener)
    {
        try
        {
            listener.Close();
        }
        catch (HttpListenerException)
        {
        }
    }
}
