using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Mvccpb;

namespace HyperSharp.Cluster;

/// <summary>
/// The few etcd v3 calls the cluster makes (dotnet-etcd's generated clients over one channel): ranges, puts, an
/// if-absent create, lease grant and a single renewal, and a prefix watch. An unreachable etcd is a
/// <see cref="ClusterException"/> naming the endpoint.
/// </summary>
public sealed class EtcdStore : IDisposable
{
    private readonly GrpcChannel[] _channels;
    private int _current;

    /// <param name="endpoints">etcd client URLs (http://127.0.0.1:2379,...); calls go to the first that answers</param>
    public EtcdStore(IReadOnlyList<string> endpoints)
    {
        if (endpoints.Count == 0) throw new ClusterException("no etcd endpoint given");
        _channels = [.. endpoints.Select(Open)];
        Endpoints = endpoints;
    }

    public IReadOnlyList<string> Endpoints { get; }

    private static GrpcChannel Open(string endpoint)
    {
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new ClusterException($"etcd endpoint '{endpoint}' is not a URL like http://127.0.0.1:2379");
        return GrpcChannel.ForAddress(uri);
    }

    /// <summary>Runs <paramref name="call"/> on the endpoint that answered last, then on the others in turn.</summary>
    private async Task<T> Call<T>(Func<CallInvoker, Task<T>> call)
    {
        RpcException? last = null;
        for (int i = 0; i < _channels.Length; i++)
        {
            int index = (Volatile.Read(ref _current) + i) % _channels.Length;
            try
            {
                var result = await call(_channels[index].CreateCallInvoker()).ConfigureAwait(false);
                Volatile.Write(ref _current, index);
                return result;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal) { last = e; }
            catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled)
            {
                // etcd answered, and said no (a lease that has expired, a request it refuses): the same from any member.
                throw new ClusterException($"etcd at {Endpoints[index]} refused the request: {e.Status.Detail}");
            }
        }
        throw new ClusterException($"etcd does not answer at {string.Join(", ", Endpoints)} ({last?.StatusCode}{(string.IsNullOrEmpty(last?.Status.Detail) ? "" : $": {last.Status.Detail}")})");
    }

    private static DateTime Deadline(TimeSpan? timeout) => DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));

    public async Task<KeyValue?> GetAsync(string key, TimeSpan? timeout = null)
    {
        var response = await Call(c => new KV.KVClient(c).RangeAsync(new RangeRequest { Key = Bytes(key) }, deadline: Deadline(timeout)).ResponseAsync).ConfigureAwait(false);
        return response.Kvs.Count > 0 ? response.Kvs[0] : null;
    }

    /// <summary>Every key under <paramref name="prefix"/>, with the store's revision they were read at.</summary>
    public async Task<(List<KeyValue> Values, long Revision)> GetPrefixAsync(string prefix, TimeSpan? timeout = null)
    {
        var response = await Call(c => new KV.KVClient(c).RangeAsync(new RangeRequest { Key = Bytes(prefix), RangeEnd = PrefixEnd(prefix) }, deadline: Deadline(timeout)).ResponseAsync).ConfigureAwait(false);
        return ([.. response.Kvs], response.Header.Revision);
    }

    public Task PutAsync(string key, ByteString value, long lease = 0) =>
        Call(c => new KV.KVClient(c).PutAsync(new PutRequest { Key = Bytes(key), Value = value, Lease = lease }, deadline: Deadline(null)).ResponseAsync);

    public Task DeleteAsync(string key) =>
        Call(c => new KV.KVClient(c).DeleteRangeAsync(new DeleteRangeRequest { Key = Bytes(key) }, deadline: Deadline(null)).ResponseAsync);

    /// <summary>
    /// Puts every pair only if none of <paramref name="absent"/> exists (create revision 0), in one transaction: of two
    /// nodes that try at once, exactly one succeeds. Returns whether this one did.
    /// </summary>
    public async Task<bool> CreateAsync(IReadOnlyList<string> absent, IReadOnlyList<(string Key, ByteString Value, long Lease)> puts)
    {
        var txn = new TxnRequest();
        foreach (var key in absent)
            txn.Compare.Add(new Compare { Key = Bytes(key), Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
        foreach (var (key, value, lease) in puts)
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = Bytes(key), Value = value, Lease = lease } });
        var response = await Call(c => new KV.KVClient(c).TxnAsync(txn, deadline: Deadline(null)).ResponseAsync).ConfigureAwait(false);
        return response.Succeeded;
    }

    /// <summary>
    /// Replaces <paramref name="key"/> only if it still has <paramref name="modRevision"/> (a read-modify-write without lost
    /// updates) and none of <paramref name="absent"/> exists.
    /// </summary>
    public async Task<bool> ReplaceAsync(string key, long modRevision, ByteString value, IReadOnlyList<string>? absent = null)
    {
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = Bytes(key), Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = modRevision });
        foreach (var other in absent ?? [])
            txn.Compare.Add(new Compare { Key = Bytes(other), Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = Bytes(key), Value = value } });
        var response = await Call(c => new KV.KVClient(c).TxnAsync(txn, deadline: Deadline(null)).ResponseAsync).ConfigureAwait(false);
        return response.Succeeded;
    }

    /// <summary>
    /// Gives <paramref name="key"/> (still at <paramref name="modRevision"/>) a new value bound to <paramref name="lease"/> and
    /// deletes <paramref name="delete"/>, in one transaction: a group's owner handed to another node with its move record gone.
    /// </summary>
    public async Task<bool> HandOverAsync(string key, long modRevision, ByteString value, long lease, string delete)
    {
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = Bytes(key), Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = modRevision });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = Bytes(key), Value = value, Lease = lease } });
        txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = Bytes(delete) } });
        var response = await Call(c => new KV.KVClient(c).TxnAsync(txn, deadline: Deadline(null)).ResponseAsync).ConfigureAwait(false);
        return response.Succeeded;
    }

    public async Task<long> GrantLeaseAsync(long ttlSeconds)
    {
        var response = await Call(c => new Lease.LeaseClient(c).LeaseGrantAsync(new LeaseGrantRequest { TTL = ttlSeconds }, deadline: Deadline(null)).ResponseAsync).ConfigureAwait(false);
        if (!string.IsNullOrEmpty(response.Error)) throw new ClusterException($"etcd refused a lease of {ttlSeconds} s: {response.Error}");
        return response.ID;
    }

    public Task RevokeLeaseAsync(long lease) =>
        Call(c => new Lease.LeaseClient(c).LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease }, deadline: Deadline(null)).ResponseAsync);

    /// <summary>One renewal of <paramref name="lease"/> within <paramref name="timeout"/>: its TTL now, 0 when the lease has expired.</summary>
    public Task<long> RenewLeaseAsync(long lease, TimeSpan timeout) => Call(async c =>
    {
        using var stream = new Lease.LeaseClient(c).LeaseKeepAlive(deadline: DateTime.UtcNow + timeout);
        await stream.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = lease }).ConfigureAwait(false);
        if (!await stream.ResponseStream.MoveNext(CancellationToken.None).ConfigureAwait(false)) throw new RpcException(new Status(StatusCode.Unavailable, "the keepalive stream ended"));
        long ttl = stream.ResponseStream.Current.TTL;
        await stream.RequestStream.CompleteAsync().ConfigureAwait(false);
        return ttl;
    });

    /// <summary>
    /// Calls <paramref name="changed"/> after every batch of changes under <paramref name="prefix"/> from
    /// <paramref name="fromRevision"/> on, until cancelled; returns (or throws) when the stream breaks, for the caller to re-read and watch again.
    /// </summary>
    public async Task WatchAsync(string prefix, long fromRevision, Action changed, CancellationToken cancel)
    {
        var invoker = _channels[Volatile.Read(ref _current)].CreateCallInvoker();
        using var stream = new Watch.WatchClient(invoker).Watch(cancellationToken: cancel);
        await stream.RequestStream.WriteAsync(new WatchRequest
        {
            CreateRequest = new WatchCreateRequest { Key = Bytes(prefix), RangeEnd = PrefixEnd(prefix), StartRevision = fromRevision },
        }, cancel).ConfigureAwait(false);
        while (await stream.ResponseStream.MoveNext(cancel).ConfigureAwait(false))
        {
            var response = stream.ResponseStream.Current;
            if (response.Canceled || response.CompactRevision != 0) return;
            if (response.Events.Count > 0) changed();
        }
    }

    public static ByteString Bytes(string key) => ByteString.CopyFromUtf8(key);

    /// <summary>The range end that makes a range request cover every key starting with <paramref name="prefix"/>.</summary>
    private static ByteString PrefixEnd(string prefix)
    {
        var end = System.Text.Encoding.UTF8.GetBytes(prefix);
        end[^1]++; // prefixes here end in '/', never 0xff
        return ByteString.CopyFrom(end);
    }

    public void Dispose()
    {
        foreach (var channel in _channels) channel.Dispose();
    }
}
