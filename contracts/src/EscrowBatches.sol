// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EscrowBase} from "./EscrowBase.sol";
import {IGameEscrow} from "./IGameEscrow.sol";
import {Merkle} from "./Merkle.sol";
import {ModelRegistry} from "./ModelRegistry.sol";
import {TensorRoot} from "./TensorRoot.sol";

/// @title EscrowBatches
/// @notice Batched optimistic claims (docs/optimistic.md "Batched claims"): one transaction and
///         one bond claim many requests of one model; the batch root is a Merkle tree over
///         leaves `keccak256(0x05 ‖ abi.encode(requestId, finalCheckpoint))`. A challenger
///         opens one leaf (`openLeaf`), which turns that request into an ordinary claim for the
///         DisputeGame; a lost game voids the whole batch. Each leaf is finalized on its own
///         (`finalizeLeaf`) with its output, checked against its P_n there.
/// @dev Part of InferenceEscrow (one deployed contract). Each request is checked and marked at
///      claim time (one cold read of its two words and one rewrite of word 0): without the
///      mark a client could refund a request the provider answered in time, and a request
///      could be claimed twice; a per-leaf proof at claim time is not needed because the root is
///      built here from the very leaves the event carries, so watchers see every leaf.
abstract contract EscrowBatches is EscrowBase {
    /// @dev Two words. `bond` backs every leaf at once: it is paid to a winning challenger
    ///      (half burned) or back to the provider with the first leaf finalized.
    struct Batch {
        bytes32 root;
        uint64 windowEnd;
        uint96 bond;
        uint16 count;
        uint32 openGames;
        bool lost;
        bool bondPaid;
    }

    /// @notice Most leaves in a batch: bounds the claim's loop, its event and `refundBatched`.
    uint256 public constant MAX_BATCH = 256;
    /// @dev Leaf domain: 0x00 and 0x02 are tensor leaves, 0x01 inner nodes, 0x03 and 0x04 program
    ///      leaves (SPEC §8), so a batch leaf can never pass for any of them.
    uint8 internal constant BATCH_LEAF = 0x05;

    uint256 public batchCount;
    mapping(uint256 => Batch) internal _batches;

    error EmptyBatch();
    error BatchTooLarge(uint256 count, uint256 max);
    error LengthMismatch(uint256 requestIds, uint256 checkpoints);
    error TooManyBatches();
    error MixedModels(uint256 requestId, uint256 modelId, uint256 batchModel);
    error NotBatched(uint256 requestId);
    error InBatch(uint256 requestId, uint256 batchId);
    error LeafNotInBatch(uint256 requestId, uint256 batchId);
    error AlreadyOpen(uint256 requestId);
    error BatchVoided(uint256 batchId);
    error BatchNotVoided(uint256 batchId);

    event ClaimedBatch(
        uint256 indexed batchId,
        address indexed provider,
        uint256 indexed modelId,
        bytes32 root,
        uint256[] requestIds,
        bytes32[] finalCheckpoints,
        uint256 bond,
        uint64 windowEnd
    );
    event LeafOpened(uint256 indexed requestId, uint256 indexed batchId, bytes32 finalCheckpoint);
    event BatchLost(
        uint256 indexed batchId, uint256 indexed requestId, address challenger, uint256 reward
    );

    // ---- claim ----------------------------------------------------------------------------

    /// @notice Claim P_n `finalCheckpoints[k]` for each request `requestIds[k]` (all open, of one
    ///         optimistic model, the caller's, before their deadlines) with one bond of at least
    ///         `count · minBond`. Usage: `escrow.claimBatch{value: n * bond}(ids, checkpoints)`.
    /// @dev The bond scales with the count: the value at risk is per request, and one lost game
    ///      voids them all (docs/threat-model.md "Batched claims").
    function claimBatch(uint256[] calldata requestIds, bytes32[] calldata finalCheckpoints)
        external
        payable
        returns (uint256 batchId)
    {
        uint256 n = requestIds.length;
        if (n == 0) revert EmptyBatch();
        if (n > MAX_BATCH) revert BatchTooLarge(n, MAX_BATCH);
        if (finalCheckpoints.length != n) revert LengthMismatch(n, finalCheckpoints.length);
        batchId = ++batchCount;
        if (batchId > type(uint32).max) revert TooManyBatches();
        uint256 modelId = _entries[requestIds[0]].modelId; // every entry is checked against it
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 k; k < n; ++k) {
            leaves[k] = _enter(requestIds[k], finalCheckpoints[k], modelId, batchId);
        }
        uint256 need = registry.minBondOf(modelId) * n;
        if (msg.value < need) revert BondTooLow(msg.value, need);
        uint64 windowEnd = uint64(block.timestamp) + challengeWindow;
        bytes32 root = TensorRoot.fold(leaves);
        _batches[batchId] = Batch(root, windowEnd, _u96(msg.value), uint16(n), 0, false, false);
        emit ClaimedBatch(
            batchId, msg.sender, modelId, root, requestIds, finalCheckpoints, msg.value, windowEnd
        );
    }

    /// Checks one request as `claim` would, marks it batched (so it can be neither refunded
    /// nor claimed again, nor twice in this batch) and returns its leaf.
    function _enter(uint256 requestId, bytes32 checkpoint, uint256 modelId, uint256 batchId)
        private
        returns (bytes32)
    {
        Entry storage e = _serve(requestId, ModelRegistry.Mode.Optimistic);
        if (e.modelId != modelId) revert MixedModels(requestId, e.modelId, modelId);
        (e.status, e.batch) = (Status.Batched, uint32(batchId));
        return _leaf(requestId, checkpoint);
    }

    // ---- challenge -------------------------------------------------------------------------

    /// @notice Turn leaf (`requestId`, `finalCheckpoint`) at `index` of its batch into an
    ///         ordinary claim, so `DisputeGame.open` can challenge it. Anyone, in the window.
    /// @dev Only the disputed leaf is ever written out: the others stay one word each.
    function openLeaf(
        uint256 requestId,
        bytes32 finalCheckpoint,
        uint256 index,
        bytes32[] calldata proof
    ) external {
        (Entry storage e, Batch storage b) = _live(requestId);
        if (block.timestamp > b.windowEnd) revert WindowClosed(requestId, b.windowEnd);
        if (e.status != Status.Batched) revert AlreadyOpen(requestId);
        _checkLeaf(requestId, e.batch, b, finalCheckpoint, index, proof);
        e.status = Status.Claimed;
        e.finalCheckpoint = finalCheckpoint;
        emit LeafOpened(requestId, e.batch, finalCheckpoint);
    }

    /// A game opened on an opened leaf: counted on the batch, since losing it voids every leaf.
    function _batchGameOpened(uint256 requestId, Entry storage e) internal {
        Batch storage b = _batches[e.batch];
        if (b.lost) revert ClaimNotOpen(requestId);
        if (block.timestamp > b.windowEnd) revert WindowClosed(requestId, b.windowEnd);
        b.openGames += 1;
    }

    /// @dev The first lost game voids the batch: the provider was proven to cheat under this
    ///      bond, which is paid out once (half to the challenger, half burned), so nothing backs
    ///      the other leaves any more and none of them may become final. This request is
    ///      refunded here; the others by `refundBatched` (anyone), which needs no proof.
    function _batchGameResolved(
        uint256 requestId,
        Entry storage e,
        bool providerLost,
        address challenger
    ) internal {
        uint256 batchId = e.batch;
        Batch storage b = _batches[batchId];
        if (b.openGames == 0) revert NoOpenGames(requestId);
        b.openGames -= 1;
        if (!providerLost || b.lost) return;
        b.lost = true;
        _refundEntry(requestId, e);
        uint256 reward = _reward(b.bond);
        credits[challenger] += reward;
        emit ClaimVoided(requestId, challenger, reward);
        emit BatchLost(batchId, requestId, challenger, reward);
    }

    /// @notice Credit the clients of requests in a lost batch (anyone; already refunded ones are
    ///         skipped, so a front-run refund of one id cannot make the call revert).
    function refundBatched(uint256[] calldata requestIds) external {
        if (requestIds.length > MAX_BATCH) revert BatchTooLarge(requestIds.length, MAX_BATCH);
        for (uint256 k; k < requestIds.length; ++k) {
            uint256 requestId = requestIds[k];
            Entry storage e = _entries[requestId];
            uint256 batchId = e.batch;
            if (batchId == 0) revert NotBatched(requestId);
            if (!_batches[batchId].lost) revert BatchNotVoided(batchId);
            Status status = e.status;
            if (status == Status.Batched || status == Status.Claimed) _refundEntry(requestId, e);
        }
    }

    // ---- finalize --------------------------------------------------------------------------

    /// @notice Final once the batch's window has passed with no game open on any of its leaves:
    ///         pays the fee (and, with the batch's first leaf, the whole bond) to the provider.
    ///         Anyone may call it. `output` (be32) must be the output at the output slot of the
    ///         leaf's P_n (`outputProof`); its hash is recorded and it goes to the callback.
    /// @dev The output is checked here, not at claim time: that is what makes a batched claim
    ///      cheap, and P_n, which the window let anyone dispute, decides the output uniquely.
    function finalizeLeaf(
        uint256 requestId,
        bytes32 finalCheckpoint,
        uint256 index,
        bytes32[] calldata proof,
        bytes calldata output,
        bytes32[] calldata outputProof
    ) external {
        (Entry storage e, Batch storage b) = _live(requestId);
        Status status = e.status;
        if (status != Status.Batched && status != Status.Claimed) revert ClaimNotOpen(requestId);
        if (block.timestamp <= b.windowEnd) revert WindowOpen(requestId, b.windowEnd);
        if (b.openGames != 0) revert GamesOpen(b.openGames);
        _checkLeaf(requestId, e.batch, b, finalCheckpoint, index, proof);
        _checkOutput(e.modelId, output, finalCheckpoint, outputProof, false);
        (e.status, e.outputHash) = (Status.Fulfilled, keccak256(output));
        uint256 paid = e.payment;
        if (!b.bondPaid) (b.bondPaid, paid) = (true, paid + b.bond);
        credits[e.provider] += paid;
        emit Finalized(requestId, e.provider, paid);
        if (_callbacks[requestId].target != address(0)) _deliver(requestId, output);
    }

    // ---- reads -----------------------------------------------------------------------------

    /// @notice Batch `batchId` (all zero when there is none).
    function batchOf(uint256 batchId) external view returns (Batch memory) {
        return _batches[batchId];
    }

    /// @notice The batch that claims `requestId` (0 when none).
    function batchIdOf(uint256 requestId) external view returns (uint256) {
        return _entries[requestId].batch;
    }

    /// @dev What `claimOf` reports for a batched request: the batch's window, bond and games
    ///      (any of which blocks every leaf), and Refunded once the batch is lost, so the game
    ///      cancels games on its other leaves.
    function _batchView(IGameEscrow.ClaimInfo memory info, uint256 batchId, uint8 status)
        internal
        view
        returns (uint8)
    {
        Batch storage b = _batches[batchId];
        (info.windowEnd, info.bond, info.openGames) = (b.windowEnd, b.bond, b.openGames);
        bool live = status == uint8(Status.Batched) || status == uint8(Status.Claimed);
        return b.lost && live ? uint8(Status.Refunded) : status;
    }

    // ---- internals -------------------------------------------------------------------------

    /// A batched request whose batch is not lost, with its batch.
    function _live(uint256 requestId) private view returns (Entry storage e, Batch storage b) {
        e = _entries[requestId];
        if (e.status == Status.None) revert UnknownRequest(requestId);
        if (e.batch == 0) revert NotBatched(requestId);
        b = _batches[e.batch];
        if (b.lost) revert BatchVoided(e.batch);
    }

    /// @dev The proof must have the batch's depth and end at its root; `index < count` keeps a
    ///      padding position from being named. The leaf names the request, so no other
    ///      request's leaf (or this leaf in another batch) passes.
    function _checkLeaf(
        uint256 requestId,
        uint256 batchId,
        Batch storage b,
        bytes32 checkpoint,
        uint256 index,
        bytes32[] calldata proof
    ) private view {
        uint256 depth = Merkle.depthFor(b.count);
        if (proof.length != depth) revert Merkle.WrongDepth(proof.length, depth);
        bool found =
            index < b.count && Merkle.root(_leaf(requestId, checkpoint), index, proof) == b.root;
        if (!found) revert LeafNotInBatch(requestId, batchId);
    }

    function _leaf(uint256 requestId, bytes32 checkpoint) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(BATCH_LEAF, requestId, checkpoint));
    }

    function _refundEntry(uint256 requestId, Entry storage e) private {
        e.status = Status.Refunded;
        credits[e.client] += e.payment;
        emit Refunded(requestId, e.client, e.payment);
    }
}
