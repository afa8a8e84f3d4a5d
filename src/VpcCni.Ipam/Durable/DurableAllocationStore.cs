using Microsoft.Win32.SafeHandles;

namespace VpcCni.Ipam.Durable;

/// <summary>What <see cref="DurableAllocationStore.Load"/> found.</summary>
/// <param name="Allocations">The recovered live allocations (last record per key wins).</param>
/// <param name="Problems">Human-readable reports of everything corrupt, truncated or skipped.</param>
/// <param name="Complete">False when the checkpoint and its backup were both unreadable: allocations made before the
/// last compaction may be missing, so the caller must not treat unlisted cloud addresses as certainly free.</param>
public sealed record DurableLoadResult(IReadOnlyList<AllocationRecord> Allocations, IReadOnlyList<string> Problems, bool Complete)
{
    /// <summary>Releases found in the journals (address, Unix ns), so the cooldown survives a restart.</summary>
    public IReadOnlyList<(PodAddress Address, long ReleasedAtUnixNanoseconds)> Releases { get; init; } = [];
}

/// <summary>
/// Crash-safe record of the allocations of one datastore. The checkpoint at <c>Path</c> is upstream's
/// <c>vpc-cni-ipam/1</c> file; every assign/unassign is appended to <c>Path.journal</c> (one line per record:
/// CRC-32 in hex, a space, compact JSON) and is durable (fsynced) before the returned task completes. Concurrent
/// writers share one write and one fsync (group commit). After <c>compactEvery</c> records the journal is folded into the
/// checkpoint: copy checkpoint → <c>.prev</c>, rotate journal → <c>.journal.prev</c>, write the new checkpoint (temp,
/// fsync, rename, fsync directory). Recovery replays checkpoint + previous journal + journal (replay is idempotent:
/// the last record per key wins), falling back to <c>.prev</c> when the checkpoint is damaged.
/// </summary>
/// <remarks>
/// Moving a node to upstream: upstream reads only the checkpoint, so call <see cref="CompactAsync"/> on shutdown
/// (the daemon does) to leave a complete upstream-readable file.
/// </remarks>
public sealed class DurableAllocationStore : IAsyncDisposable, IDisposable
{
    private readonly Lock _gate = new();
    private readonly int _compactEvery;
    private readonly Dictionary<AttachmentKey, AllocationRecord> _durable = [];

    // Queued under _gate; the one flushing caller swaps the two lists and works on _draining outside the lock.
    private List<PendingOperation> _pending = [];
    private List<PendingOperation> _draining = [];
    private bool _flushing;

    // Only the flushing caller touches these (and Load, before any append).
    private SafeFileHandle? _journal;
    private long _journalLength;
    private byte[] _batch = new byte[4096];
    private int _recordsSinceCompaction;
    private bool _disposed;
    private volatile bool _loaded;

    /// <param name="path">Checkpoint path (AWS_VPC_K8S_CNI_BACKING_STORE; card N: <c>…-nic-N.json</c>).</param>
    /// <param name="compactEvery">Fold the journal into the checkpoint after this many records.</param>
    public DurableAllocationStore(string path, int compactEvery = 4096)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(compactEvery, 1);
        CheckpointPath = Path.GetFullPath(path);
        _compactEvery = compactEvery;
    }

    public string CheckpointPath { get; }

    public string JournalPath => CheckpointPath + ".journal";

    internal string PreviousJournalPath => CheckpointPath + ".journal.prev";

    internal string PreviousCheckpointPath => CheckpointPath + ".prev";

    /// <summary>Number of fsyncs of the journal so far (group commit makes this smaller than the record count).</summary>
    public long JournalSyncs => Interlocked.Read(ref _journalSyncs);

    private long _journalSyncs;

    /// <summary>Upstream's per-card path rule: card 0 uses the path, card N replaces ".json" by "-nic-N.json".</summary>
    public static string PathForCard(string basePath, int networkCard)
    {
        ArgumentException.ThrowIfNullOrEmpty(basePath);
        if (networkCard == 0)
        {
            return basePath;
        }

        var stem = basePath.EndsWith(".json", StringComparison.Ordinal) ? basePath[..^5] : basePath;
        return $"{stem}-nic-{networkCard}.json";
    }

    /// <summary>Reads checkpoint and journals, reporting (not throwing on) damage, and opens the journal for appends.</summary>
    /// <remarks>Blocks the calling thread on <see cref="LoadAsync"/>: prefer that from asynchronous code.</remarks>
    public DurableLoadResult Load() => LoadAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();

    /// <summary>Reads checkpoint and journals, reporting (not throwing on) damage, and opens the journal for appends.</summary>
    public async ValueTask<DurableLoadResult> LoadAsync(CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        var state = new Dictionary<AttachmentKey, AllocationRecord>();
        var complete = true;
        if (!TryLoadCheckpoint(CheckpointPath, state, problems))
        {
            if (File.Exists(PreviousCheckpointPath) && TryLoadCheckpoint(PreviousCheckpointPath, state, problems))
            {
                problems.Add($"recovered from the previous checkpoint {PreviousCheckpointPath} plus journals.");
            }
            else if (File.Exists(CheckpointPath))
            {
                complete = false;
                problems.Add("no readable checkpoint: allocations older than the last compaction may be missing.");
            }
        }

        var releases = new List<(PodAddress, long)>();
        var replay = new JournalReplayState(state, problems, releases);
        await JournalReplay.ReplayFileAsync(PreviousJournalPath, replay, cancellationToken).ConfigureAwait(false);
        await JournalReplay.ReplayFileAsync(JournalPath, replay, cancellationToken).ConfigureAwait(false);

        lock (_gate)
        {
            _durable.Clear();
            foreach (var (k, v) in state)
            {
                _durable[k] = v;
            }
        }

        Directory.CreateDirectory(Path.GetDirectoryName(CheckpointPath)!);
        _loaded = true;
        if (problems.Count > 0)
        {
            // Start clean from what was recovered: the damaged files are replaced by a fresh checkpoint.
            CompactCore();
        }
        else
        {
            OpenJournal();
        }

        return new DurableLoadResult([.. state.Values], problems, complete) { Releases = releases };
    }

    /// <summary>Records an assignment; completes once it is on disk.</summary>
    public Task AppendAssignAsync(AllocationRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        return AppendAsync(new PendingWrite(CheckpointCodec.WriteJournalLine(CheckpointCodec.ToEntry(record)), record.Key, record), cancellationToken);
    }

    /// <summary>Records a release; completes once it is on disk.</summary>
    public Task AppendUnassignAsync(AttachmentKey key, CancellationToken cancellationToken) =>
        AppendAsync(new PendingWrite(CheckpointCodec.WriteJournalLine(CheckpointCodec.UnassignEntry(key)), key, null), cancellationToken);

    /// <summary>Records a release with its address and time (the cooldown is restored after a restart); completes once on disk.</summary>
    public Task AppendUnassignAsync(AttachmentKey key, PodAddress address, long releasedAtUnixNanoseconds, CancellationToken cancellationToken) =>
        AppendAsync(new PendingWrite(CheckpointCodec.WriteJournalLine(CheckpointCodec.UnassignEntry(key, address, releasedAtUnixNanoseconds)), key, null), cancellationToken);

    /// <summary>True when the key's allocation of <paramref name="address"/> is already on disk.</summary>
    public bool IsDurable(AttachmentKey key, PodAddress address)
    {
        lock (_gate)
        {
            return _durable.TryGetValue(key, out var r) && r.Address == address;
        }
    }

    /// <summary>The allocations that are durable now.</summary>
    public IReadOnlyList<AllocationRecord> GetDurableAllocations()
    {
        lock (_gate)
        {
            return [.. _durable.Values];
        }
    }

    /// <summary>Replaces the whole durable state (after restore validation) and compacts.</summary>
    public async Task ReplaceAllAsync(IEnumerable<AllocationRecord> allocations, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(allocations);
        AllocationRecord[] replacement = [.. allocations];
        ThrowIfNotLoaded();
        await RunExclusiveAsync(() =>
        {
            // The difference is journaled first: recovery replays the previous journal on top of the new checkpoint,
            // and an assignment left there would otherwise bring a dropped allocation back after a restart.
            WriteDirect(ReplacementDifference(replacement));
            lock (_gate)
            {
                _durable.Clear();
                foreach (var a in replacement)
                {
                    _durable[a.Key] = a;
                }
            }

            CompactCore();
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Folds the journal into an upstream-format checkpoint now.</summary>
    /// <exception cref="InvalidOperationException">The record was never loaded: its in-memory state is empty, and folding
    /// that into the checkpoint would erase every allocation on disk.</exception>
    public Task CompactAsync(CancellationToken cancellationToken)
    {
        ThrowIfNotLoaded();
        return RunExclusiveAsync(CompactCore, cancellationToken);
    }

    private byte[] ReplacementDifference(AllocationRecord[] replacement)
    {
        var lines = new List<byte[]>();
        lock (_gate)
        {
            var kept = replacement.ToDictionary(a => a.Key);
            foreach (var (key, _) in _durable.Where(d => !kept.ContainsKey(d.Key)))
            {
                lines.Add(CheckpointCodec.WriteJournalLine(CheckpointCodec.UnassignEntry(key)));
            }

            foreach (var a in replacement.Where(a => !_durable.TryGetValue(a.Key, out var current) || current != a))
            {
                lines.Add(CheckpointCodec.WriteJournalLine(CheckpointCodec.ToEntry(a)));
            }
        }

        return [.. lines.SelectMany(l => l)];
    }

    private void WriteDirect(byte[] bytes)
    {
        if (bytes.Length == 0)
        {
            return;
        }

        var journal = _journal ?? throw new InvalidOperationException("the journal is not open (a failed compaction closed it).");
        RandomAccess.Write(journal, bytes, _journalLength);
        _journalLength += bytes.Length;
        RandomAccess.FlushToDisk(journal);
        Interlocked.Increment(ref _journalSyncs);
    }

    private void ThrowIfNotLoaded()
    {
        if (!_loaded)
        {
            throw new InvalidOperationException($"the allocation record {CheckpointPath} has not been loaded; rewriting it now would erase the allocations on disk");
        }
    }

    /// <summary>Queued appends still complete (the flushing caller closes the journal after them); later appends throw.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (_flushing)
            {
                return;
            }
        }

        _journal?.Dispose();
        _journal = null;
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private Task AppendAsync(PendingWrite write, CancellationToken cancellationToken) => RunQueuedAsync(write, cancellationToken);

    private Task RunExclusiveAsync(Action action, CancellationToken cancellationToken) =>
        RunQueuedAsync(new PendingAction(action), cancellationToken); // between two batches: no journal write interleaves

    private async Task RunQueuedAsync(PendingOperation operation, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        bool flusher;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _pending.Add(operation);
            flusher = !_flushing;
            _flushing = true;
        }

        if (flusher)
        {
            // Yield once so writers arriving at the same moment join this batch. The flusher then blocks one
            // thread-pool thread in fsync for as long as writers keep coming; a dedicated writer thread was measured
            // instead: it cost an uncontended ADD ~0.1 ms (two thread hand-offs) for no clear gain under 64 callers.
            await Task.Yield();
            Flush();
        }

        await operation.Done.Task.ConfigureAwait(false);
    }

    private void Flush()
    {
        while (true)
        {
            lock (_gate)
            {
                if (_pending.Count == 0)
                {
                    _flushing = false;
                    if (!_disposed)
                    {
                        return;
                    }
                }
                else
                {
                    (_pending, _draining) = (_draining, _pending);
                }
            }

            if (_draining.Count == 0)
            {
                // Disposed while this caller was flushing: it closes the journal once the queue is empty.
                _journal?.Dispose();
                _journal = null;
                return;
            }

            // Everything queued while the previous batch was on its way to disk goes out in one write and one fsync.
            var start = 0;
            for (var i = 0; i <= _draining.Count; i++)
            {
                if (i < _draining.Count && _draining[i] is PendingWrite)
                {
                    continue;
                }

                if (i > start)
                {
                    WriteBatch(start, i);
                }

                if (i < _draining.Count)
                {
                    RunAction((PendingAction)_draining[i]);
                }

                start = i + 1;
            }

            _draining.Clear();
        }
    }

    private void WriteBatch(int start, int end)
    {
        try
        {
            var journal = _journal ?? throw new InvalidOperationException("the journal is not open (the store was not loaded, or a failed compaction closed it).");
            var length = 0;
            for (var i = start; i < end; i++)
            {
                length += ((PendingWrite)_draining[i]).Line.Length;
            }

            if (_batch.Length < length)
            {
                _batch = new byte[Math.Max(length, _batch.Length * 2)];
            }

            var offset = 0;
            for (var i = start; i < end; i++)
            {
                var line = ((PendingWrite)_draining[i]).Line;
                line.CopyTo(_batch, offset);
                offset += line.Length;
            }

            RandomAccess.Write(journal, _batch.AsSpan(0, length), _journalLength);
            _journalLength += length;
            RandomAccess.FlushToDisk(journal);
            Interlocked.Increment(ref _journalSyncs);
        }
        catch (Exception ex)
        {
            // Handed to every writer of the batch: none of them is acknowledged.
            for (var i = start; i < end; i++)
            {
                _draining[i].Done.TrySetException(new DurableRecordException($"could not make the allocation record durable in {JournalPath}: {ex.Message}", ex));
            }

            return;
        }

        lock (_gate)
        {
            for (var i = start; i < end; i++)
            {
                var w = (PendingWrite)_draining[i];
                if (w.Record is { } r)
                {
                    _durable[w.Key] = r;
                }
                else
                {
                    _durable.Remove(w.Key);
                }
            }
        }

        for (var i = start; i < end; i++)
        {
            _draining[i].Done.TrySetResult();
        }

        _recordsSinceCompaction += end - start;
        if (_recordsSinceCompaction >= _compactEvery)
        {
            try
            {
                CompactCore();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Every record is in the journal: a failed compaction only means a longer replay; the next append
                // reports it if the journal could not be reopened.
            }
        }
    }

    private static void RunAction(PendingAction action)
    {
        try
        {
            action.Run();
            action.Done.TrySetResult();
        }
        catch (Exception ex)
        {
            // The caller awaiting the action gets the exception; the flush goes on with the writes queued after it.
            action.Done.TrySetException(ex);
        }
    }

    private void CompactCore()
    {
        List<AllocationRecord> snapshot;
        lock (_gate)
        {
            snapshot = [.. _durable.Values];
        }

        var dir = Path.GetDirectoryName(CheckpointPath)!;
        if (File.Exists(CheckpointPath))
        {
            AtomicWrite(PreviousCheckpointPath, File.ReadAllBytes(CheckpointPath));
        }

        _journal?.Dispose();
        _journal = null;
        if (File.Exists(JournalPath))
        {
            File.Move(JournalPath, PreviousJournalPath, overwrite: true);
            FsyncDirectory(dir);
        }

        AtomicWrite(CheckpointPath, CheckpointCodec.WriteCheckpoint(snapshot.OrderBy(a => a.Address.Value)));
        OpenJournal();
        _recordsSinceCompaction = 0;
    }

    private void OpenJournal()
    {
        _journal = File.OpenHandle(JournalPath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read);
        _journalLength = RandomAccess.GetLength(_journal);
    }

    /// <summary>Temp file in the same directory, fsync, rename over the target, fsync the directory.</summary>
    internal static void AtomicWrite(string path, ReadOnlySpan<byte> bytes)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("the durable record needs POSIX rename and fsync semantics");
        }

        VpcCni.IO.AtomicFile.Write(path, bytes);
    }

    private static void FsyncDirectory(string dir)
    {
        if (OperatingSystem.IsLinux())
        {
            // .NET cannot open a directory as a file; AtomicFile goes through libc to make the rename durable.
            VpcCni.IO.AtomicFile.SyncDirectory(dir);
        }
    }

    private static bool TryLoadCheckpoint(string path, Dictionary<AttachmentKey, AllocationRecord> state, List<string> problems)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        try
        {
            var records = CheckpointCodec.ReadCheckpoint(File.ReadAllBytes(path), path, problems);
            state.Clear();
            var byAddress = new Dictionary<uint, AttachmentKey>();
            foreach (var r in records)
            {
                if (byAddress.TryGetValue(r.Address.Value, out var owner) && owner != r.Key)
                {
                    problems.Add($"checkpoint {path}: address {r.Address} is recorded for both {owner} and {r.Key}; keeping {owner}, dropping the duplicate.");
                    continue;
                }

                byAddress[r.Address.Value] = r.Key;
                state[r.Key] = r;
            }

            return true;
        }
        catch (DurableRecordException ex)
        {
            problems.Add(ex.Message);
            var aside = $"{path}.corrupt";
            for (var n = 1; File.Exists(aside) && n < 100; n++)
            {
                aside = $"{path}.corrupt.{n}";
            }

            try
            {
                File.Copy(path, aside, overwrite: true);
                problems.Add($"the damaged file was copied to {aside} for inspection.");
            }
            catch (IOException)
            {
            }

            return false;
        }
    }

    private abstract class PendingOperation
    {
        // Continuations go to the thread pool, never inline on the flushing caller.
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class PendingWrite(byte[] line, AttachmentKey key, AllocationRecord? record) : PendingOperation
    {
        public byte[] Line { get; } = line;

        public AttachmentKey Key { get; } = key;

        public AllocationRecord? Record { get; } = record;
    }

    private sealed class PendingAction(Action run) : PendingOperation
    {
        public Action Run { get; } = run;
    }
}
