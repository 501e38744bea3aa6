namespace HyperSharp.Networking.Links;

/// <summary>
/// Both ends of a link inside one process (the embedded `hyper vm run` mode, tests, benchmarks):
/// a send is a direct call into the other end's receiver on the sender's thread — no copy, no queue.
/// </summary>
public sealed class InProcessLink : IFrameLink
{
    private readonly string _description;
    private InProcessLink _peer = null!;
    private volatile IFrameReceiver? _receiver;
    private volatile bool _disposed;

    private InProcessLink(string description) => _description = description;

    public static (InProcessLink A, InProcessLink B) CreatePair(string description = "in-process")
    {
        var a = new InProcessLink(description + " (a)");
        var b = new InProcessLink(description + " (b)");
        (a._peer, b._peer) = (b, a);
        return (a, b);
    }

    public string Description => _description;

    public bool SendCopies => false;

    public void Start(IFrameReceiver receiver) => _receiver = receiver;

    public bool Send(ReadOnlySpan<byte> frame)
    {
        if (_disposed || _peer._disposed || _peer._receiver is not { } receiver) return false;
        receiver.Receive(frame);
        return true;
    }

    public void Dispose() => _disposed = true;
}
